"""report -> rows again: `retry`'s inputs. The run behind a report and its chain's history
(lineage.py), the report matched with its run (matching.py), each row planned against that
history (rerun.py), sent in `_row` order (row_order.py), and the changes a spreadsheet makes to
a CSV (damage.py, which `check` uses too)."""
