"""What the database would scan in full to run a statement: EXPLAIN on SQLite or PostgreSQL.

On PostgreSQL the plan is asked for with sequential scans switched off (enable_seqscan=off), so
the answer does not depend on the test tables being tiny: a Seq Scan still chosen means no index
can serve the statement, and an index searched without its leading column is read whole.
"""

import json
import re

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

# Small by nature: one row per queue. Scanning it is fine.
SMALL_TABLES = {"queues_queue"}


def full_scans(sql, params=(), small=()):
    """The plan steps that read a whole table (or a whole index in place of one), as text;
    tables named in `small` (and SMALL_TABLES) may be read whole."""
    small = {*SMALL_TABLES, *small}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            steps = [row[-1] for row in cursor.fetchall()]
        # "SCAN t" walks every row of t; "SEARCH t USING ... INDEX (...)" reads a range.
        return [step for step in steps if step.startswith("SCAN ") and _table(step) not in small]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        scans = []
        for node in _nodes(plan[0]["Plan"]):
            if node["Node Type"] == "Seq Scan" and node["Relation Name"] not in small:
                scans.append(f"Seq Scan on {node['Relation Name']}")
            elif "Index Name" in node:
                table, leading = _index(cursor, node["Index Name"])
                # An index searched without its leading column is read whole.
                if table not in small and not re.search(
                    rf"\b{leading}\b", node.get("Index Cond", "")
                ):
                    scans.append(
                        f"{node['Node Type']} on {table} reading all of {node['Index Name']}"
                    )
    return scans


def _index(cursor, name):
    """(table, leading column) of a PostgreSQL index."""
    cursor.execute(
        "SELECT t.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE c.relname = %s",
        [name],
    )
    return cursor.fetchone()


def _table(step):
    return step.split()[1]


def _nodes(node):
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


class CapturedStatements(CaptureQueriesContext):
    """The statements Django ran inside the block (raw DB-API cursors are not seen)."""

    def statements(self):
        return [
            query["sql"]
            for query in self.captured_queries
            if query["sql"].lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))
        ]


def capture():
    return CapturedStatements(connection)
