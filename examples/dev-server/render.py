"""The build step: content/index.txt (a title line, then paragraphs separated
by blank lines) poured into templates/page.html."""
import html
import os
import string


def render(template, content, target):
    with open(content, encoding='utf-8') as f:
        title, _, text = f.read().partition('\n')
    body = ''.join(f'<p>{html.escape(p.strip())}</p>\n'
                   for p in text.split('\n\n') if p.strip())
    with open(template, encoding='utf-8') as f:
        page = string.Template(f.read()).substitute(title=html.escape(title.strip()), body=body)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, 'w', encoding='utf-8') as f:
        f.write(page)
