"""The safety net for a live CRM: backup and undo, verify, stop on systematic failure, confirm before sending.

    backup.py   --backup: a snapshot before each update, in the record and its copy DIR/undo.csv
    record.py   the backup's record, DIR/undo-record.jsonl: old values exactly as read
    undo.py     `undo DIR`: send the record back, skipping activities changed since the run
    verify.py   `verify DIR`: read back what a run wrote, DIR/verify.csv
    compare.py  the one comparison both use (LeadSquared's normalising is no change)
    failing.py  stop sending when every row fails the same way
    confirm.py  "About to update N rows ... in ORG as USER"; unknown column warnings
    options.py  the record-class options, as run.json keeps them
    field_check.py  the one read of the first activity before sending: a case clash refused, unknown columns warned
    send_steps.py   the runner's send: the update, the backup's snapshot or undo's check before it
"""
