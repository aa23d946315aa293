#!/usr/bin/env python3
"""Import cycles between modules under src/ (the library; the binary's cli/ and
main.rs excluded). Usage: .ci/import-cycles.py [DEPTH] — DEPTH 1 compares
top-level modules, the default compares every module. Exits 1 on a cycle."""
import re,glob,sys,os
from collections import defaultdict
root=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..','src')+'/'
deps=defaultdict(set)
mods=set()
for f in glob.glob(root+'**/*.rs',recursive=True):
    rel=f[len(root):-3]
    if rel in ('main','lib') or rel.startswith('cli'): continue
    mod=rel.replace('/mod','').replace('/','::')
    mods.add(mod)
    s=open(f).read()
    s='\n'.join(l for l in s.split('\n') if not l.strip().startswith('//'))
    s=re.sub(r'#\[cfg\(test\)\]\s*mod tests \{.*', '', s, flags=re.S)
    parent=mod.rsplit('::',1)[0] if '::' in mod else ''
    for m in re.finditer(r'crate::((?:[a-z_]+::)*[a-z_]+)',s):
        deps[mod].add(m.group(1))
    for m in re.finditer(r'\bsuper::((?:[a-z_]+::)*[a-z_]+)',s):
        base=mod.rsplit('::',1)[0] if '::' in mod else ''
        if rel.endswith('/mod'): base=mod
        else: base=mod.rsplit('::',1)[0] if '::' in mod else ''
        deps[mod].add((base+'::' if base else '')+m.group(1))
def resolve(d):
    parts=d.split('::')
    while parts:
        c='::'.join(parts)
        if c in mods: return c
        parts=parts[:-1]
    return None
level=int(sys.argv[1]) if len(sys.argv)>1 else 9
g=defaultdict(set)
for m,ds in deps.items():
    for d in ds:
        t=resolve(d)
        if t and t!=m:
            a='::'.join(m.split('::')[:level]); b='::'.join(t.split('::')[:level])
            if a!=b and not b.startswith(a+'::') and not a.startswith(b+'::'): g[a].add(b)
            elif a!=b and a.startswith(b+'::'): pass
            elif a!=b: g[a].add(b)
# find cycles via Tarjan
index={};low={};st=[];on=set();res=[];i=[0]
def sc(v):
    index[v]=low[v]=i[0];i[0]+=1;st.append(v);on.add(v)
    for w in g[v]:
        if w not in index: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],index[w])
    if low[v]==index[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v:break
        if len(comp)>1: res.append(comp)
sys.setrecursionlimit(10000)
for v in list(g): 
    if v not in index: sc(v)
print("import cycles:",res if res else "none")
sys.exit(1 if res else 0)
