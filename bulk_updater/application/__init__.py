"""What both front ends render: the CLI prints it, the page shows it, and neither decides it again.

    preview.py          what a job will do: the line before its first update (rows, activities, calls per row, reads, rate, time)
    ending.py           what a job did: the rows that need another look, and what to do next
    verify_settings.py  how verify reads a run back: the run's own host and pace, unless given

What a job is doing as it goes is the library's tally (report/tally.py); what it tells a person, its
notes (notes.py, Hooks.on_note). A front end parses what it is given, calls these, and prints or
shows the answer.
"""
