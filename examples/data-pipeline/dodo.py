"""A small data pipeline of python-actions: `load` reads a CSV and returns
its figures (saved by doit as the task's values), `summarize` receives them
through `getargs` and writes a report whose length is a task param with a
default, `publish` copies the report with a cmd-action."""

import csv
import json
from pathlib import Path

DOIT_CONFIG = {'default_tasks': ['publish']}

SALES = 'data/sales.csv'


def load_sales():
    """Revenue per region; returned values are saved in doit's state."""
    revenue = {}
    rows = 0
    with open(SALES, newline='', encoding='utf-8') as f:
        for row in csv.DictReader(f):
            amount = int(row['units']) * float(row['price'])
            revenue[row['region']] = round(revenue.get(row['region'], 0.0) + amount, 2)
            rows += 1
    return {'revenue': revenue, 'rows': rows}


def task_load():
    """Read the sales CSV"""
    return {
        'file_dep': [SALES],
        'actions': [load_sales],
    }


def write_summary(revenue, rows, top, targets):
    """The `top` regions by revenue, as JSON."""
    best = sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    Path(targets[0]).parent.mkdir(exist_ok=True)
    with open(targets[0], 'w', encoding='utf-8') as out:
        json.dump({'rows': rows, 'top': dict(best)}, out, indent=2)
        out.write('\n')


def task_summarize():
    """Write out/summary.json: the best regions (--top N, default 3)"""
    return {
        'file_dep': [SALES],
        # getargs alone makes `load` a setup task, run only after this task's
        # status is known; as a task_dep it runs (or is up to date) before.
        'task_dep': ['load'],
        'getargs': {'revenue': ('load', 'revenue'), 'rows': ('load', 'rows')},
        'params': [{'name': 'top', 'short': 't', 'long': 'top', 'type': int,
                    'default': 3, 'help': 'how many regions to keep'}],
        'targets': ['out/summary.json'],
        'actions': [write_summary],
        'clean': True,
    }


def task_publish():
    """Copy the summary to out/report.json and show it"""
    return {
        'file_dep': ['out/summary.json'],
        'targets': ['out/report.json'],
        'actions': ['cp out/summary.json out/report.json', 'cat out/report.json'],
        'verbosity': 2,
        'clean': True,
    }
