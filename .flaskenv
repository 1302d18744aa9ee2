# Read by the flask command (python-dotenv) in a checkout: `.venv/bin/flask books check`
# needs no other setting. Production sets its own environment (and SECRET_KEY); a real
# environment variable always wins over this file.
FLASK_APP=market
FLASK_DEBUG=1
