"""The smallest real doit project: a cmd-action and a python-action, with a
file_dep and targets, so the second run is up to date."""

DOIT_CONFIG = {'default_tasks': ['report']}


def count_words(dependencies, targets):
    """Counts the words of the greeting (a python-action)."""
    with open(sorted(dependencies)[0], encoding='utf-8') as src:
        words = len(src.read().split())
    with open(targets[0], 'w', encoding='utf-8') as out:
        out.write(f'{words} words\n')


def task_greeting():
    """Write the greeting from the name in name.txt (a cmd-action)."""
    return {
        'file_dep': ['name.txt'],
        'targets': ['build/greeting.txt'],
        'actions': ['mkdir -p build',
                    'printf "Hello, %%s!\\n" "$(cat name.txt)" > %(targets)s'],
        'clean': True,
    }


def task_report():
    """Count the words of the greeting (a python-action)."""
    return {
        'file_dep': ['build/greeting.txt'],
        'targets': ['build/report.txt'],
        'actions': [count_words, 'cat build/greeting.txt build/report.txt'],
        'verbosity': 2,
        'clean': True,
    }
