"""Fill empty msgstr entries of a .po file from a {msgid: msgstr} table (a maintenance helper).

Usage: python locale/fill_vi.py TABLE.py locale/vi/LC_MESSAGES/django.po
TABLE.py defines VI = {msgid: msgstr} and PLURAL = {msgid: [msgstr[0], ...]}.
Entries already translated are kept; entries missing from the table are listed.
"""

from __future__ import annotations

import re
import runpy
import sys


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def fill(po: str, single: dict[str, str], plural: dict[str, list[str]]) -> tuple[str, list[str]]:
    blocks, missing = po.split("\n\n"), []
    for i, block in enumerate(blocks[1:], start=1):
        match = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if not match:
            continue
        msgid = "".join(re.findall(r'"(.*)"', match.group(1))).replace('\\"', '"')
        if "#, fuzzy" in block:
            # msgmerge's guess from a similar string: never trust it, translate afresh.
            block = re.sub(r"^#\| .*\n", "", block.replace("#, fuzzy\n", ""), flags=re.M)
            block = re.sub(r'^(msgstr(?:\[0\])?) (?:".*"\n?)+', r'\1 ""\n', block, flags=re.M).rstrip("\n")
        # Only an empty translation ends the entry with msgstr ""; a wrapped one continues on the next lines.
        empty = re.search(r'^msgstr(\[0\])? ""\Z', block.rstrip("\n"), re.M)
        if not empty:
            pass
        elif "msgid_plural" in block and msgid in plural:
            block = re.sub(r'^msgstr\[0\] ""\Z', "msgstr[0] " + quote(plural[msgid][0]), block.rstrip("\n"), flags=re.M)
        elif msgid in single:
            block = re.sub(r'^msgstr ""\Z', "msgstr " + quote(single[msgid]), block.rstrip("\n"), flags=re.M)
        else:
            missing.append(msgid)
        blocks[i] = block
    return "\n\n".join(blocks), missing


if __name__ == "__main__":
    table = runpy.run_path(sys.argv[1])
    path = sys.argv[2]
    with open(path, encoding="utf-8") as fh:
        text, missing = fill(fh.read(), table["VI"], table.get("PLURAL", {}))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    for msgid in missing:
        print("untranslated:", msgid)
