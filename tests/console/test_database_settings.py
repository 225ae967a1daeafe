"""How settings turn DATABASE_URL into DATABASES: the URL's own options are kept."""

from console.settings import _database


def test_postgres_url_options_are_kept_beside_roosts_own():
    config = _database("postgres://u@h:5432/db?sslmode=require&connect_timeout=5")

    options = config["OPTIONS"]
    assert options["sslmode"] == "require"
    assert options["connect_timeout"] == 5  # the URL's, not Roost's default of 2
    assert options["pool"]["min_size"] == 1  # Roost's own pool stays


def test_postgres_without_url_options_gets_roosts_defaults():
    options = _database("postgres://u@h:5432/db")["OPTIONS"]

    assert options["connect_timeout"] == 2
    assert "sslmode" not in options


def test_sqlite_url_options_are_kept_beside_roosts_own():
    options = _database("sqlite:////tmp/roost.sqlite3?timeout=5")["OPTIONS"]

    assert options["timeout"] == 5
    assert options["transaction_mode"] == "IMMEDIATE"
