"""Reading a large table keeps the function's memory flat (streaming, not buffering)."""

from __future__ import annotations

from components.local.services import DB_NAME, DB_PASSWORD, DB_USER

ROWS = 200_000
BOUND = 15 * 1024 * 1024
"""Peak RSS growth allowed between a 100-row and a 200,000-row run of the same process."""

_BUFFERED_READ = """
import ssl, pymysql
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) * 1024
ctx = ssl.create_default_context(cafile={ca!r})
conn = pymysql.connect(host='localhost', port={port}, user={user!r}, password={password!r}, database={db!r}, ssl=ctx)
with conn.cursor() as cur:
    cur.execute('SELECT * FROM employees LIMIT 100')
    cur.fetchall()
before = hwm()
with conn.cursor() as cur:
    cur.execute('SELECT * FROM employees')
    rows = cur.fetchall()
print(len(rows), hwm() - before)
"""


def test_two_hundred_thousand_rows_in_flat_memory(start_function, employees, db, run_in_package, pki):
    employees(100)
    fn = start_function()
    small = fn.invoke()
    assert small.ok, small.error
    assert small.body["employees"] == 100
    baseline = fn.peak_rss_bytes()

    db.add_employees(ROWS - 100)
    # Within the timeout and memory size the stack gives the function.
    large = fn.invoke()
    assert large.ok, large.error
    assert not large.cold_start and fn.local.pid is not None
    assert large.body["employees"] == ROWS
    peak = fn.peak_rss_bytes()
    growth = peak - baseline
    assert growth < BOUND, f"peak RSS grew by {growth / 2**20:.1f} MiB reading {ROWS} rows"
    assert peak < fn.local.memory_mb * 2**20, f"peak RSS {peak / 2**20:.1f} MiB exceeds the function's memory"
    (summary,) = fn.events("employees_read", large.request_id)
    assert summary["batches"] == ROWS // 1000

    # The bound means something: the same rows buffered with fetchall() (the article's
    # way) grow the same kind of process by several times more.
    control = run_in_package(_BUFFERED_READ.format(
        ca=str(pki.ca), port=db.port, user=DB_USER, password=DB_PASSWORD, db=DB_NAME))
    assert control.returncode == 0, control.stderr
    rows, buffered_growth = (int(x) for x in control.stdout.split())
    assert rows == ROWS
    assert buffered_growth > BOUND, f"fetchall grew only {buffered_growth / 2**20:.1f} MiB"
    assert buffered_growth > 3 * max(growth, 1)
