#!/usr/bin/env python3
"""The documented layer order: docs/architecture.md's module tree lists the
top-level modules of src/ from the top layer down; a module may use the
modules on its own line and on the lines after it, and those its line names
with "(uses …)". Any other `crate::` path is an upward edge. Also fails on
a top-level module the tree does not list. Exits 1 on either."""
import os, re, glob, sys
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, '..')
doc = open(os.path.join(root, 'docs/architecture.md')).read()
block = doc.split('```', 2)[1]
layers, allowed = [], {}
for line in block.strip('\n').split('\n'):
    names_part = re.split(r'\s{2,}', line.strip(), maxsplit=1)[0]
    names = [n.strip().rstrip('/').split('.')[0] for n in names_part.split(',')]
    names = [n for n in names if n and n not in ('main', 'cli')]
    uses = re.search(r'\(uses ([^)]*)\)', line)
    extra = {u.strip().split('::')[0] for u in uses.group(1).split(',')} if uses else set()
    for n in names:
        allowed[n] = extra
    if names:
        layers.append(names)
position = {n: i for i, names in enumerate(layers) for n in names}
src = os.path.join(root, 'src')
tops = {os.path.relpath(p, src).split('/')[0].removesuffix('.rs')
        for p in glob.glob(src + '/**/*.rs', recursive=True)}
tops -= {'main', 'lib', 'cli'}
bad = sorted(tops - set(position))
for name in bad:
    print(f'layers: src/{name} is not in docs/architecture.md\'s module tree')
upward = []
for path in glob.glob(src + '/**/*.rs', recursive=True):
    rel = os.path.relpath(path, src)
    top = rel.split('/')[0].removesuffix('.rs')
    if top not in position:
        continue
    text = open(path).read()
    text = re.sub(r'#\[cfg\(test\)\]\s*mod tests \{.*', '', text, flags=re.S)
    text = '\n'.join(l for l in text.split('\n') if not l.strip().startswith('//'))
    used = set(re.findall(r'crate::([a-z_]+)', text))
    # `crate::{a, b::c}` names each of its modules; in a top-level file,
    # `super::x` is `crate::x`.
    for group in re.findall(r'crate::\{([^}]*)\}', text):
        used |= {g.strip().split('::')[0] for g in group.split(',') if g.strip()}
    if '/' not in rel:
        used |= set(re.findall(r'super::([a-z_]+)', text))
    for m in used:
        if m in position and position[m] < position[top] and m not in allowed[top]:
            upward.append(f'layers: src/{rel} uses crate::{m}, a layer above {top}')
for line in sorted(upward):
    print(line)
print('layers:', 'ok' if not (bad or upward) else f'{len(bad) + len(upward)} problem(s)')
sys.exit(1 if bad or upward else 0)
