"""Budget allocation: rules (pure), rounds, ballots, tallies, audit."""
