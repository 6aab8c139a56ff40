"""The process table from /proc, for tests that check no child process outlives its parent
(psutil is not a dependency)."""
import os


def proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, name, state) of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    text = fh.read()
            except OSError:
                continue
            name = text[text.index("(") + 1:text.rindex(")")]
            state, ppid = text[text.rindex(")") + 2:].split()[:2]
            out[int(entry)] = (int(ppid), name, state)
    return out


def descendants(pid: int) -> dict[int, str]:
    """{pid: command name} of every live (not zombie) descendant of ``pid``."""
    children: dict[int, list[int]] = {}
    for p, (ppid, name, state) in proc_table().items():
        if state != "Z":
            children.setdefault(ppid, []).append(p)
    names = {p: name for p, (_, name, _) in proc_table().items()}
    out, todo = {}, [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c in names:
                out[c] = names[c]
            todo.append(c)
    return out
