"""`make run`: migrate, load the demo when empty, and serve at http://127.0.0.1:5000."""

from __future__ import annotations

import os

from market import create_app, demo, migrate
from market.db import database


def main() -> None:
    """Prepare the local database and serve the development app."""
    os.environ.setdefault("FLASK_DEBUG", "1")
    app = create_app()
    with app.app_context():
        migrate.upgrade(database(app).engine)
        demo.ensure_loaded(app)
    print("\nsoftcoop is at http://127.0.0.1:5000  (Ctrl-C to stop)\n", flush=True)
    app.run(host="127.0.0.1", port=5000, debug=True, use_reloader=False)


if __name__ == "__main__":
    main()
