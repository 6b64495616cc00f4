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
        block = block.replace("#, fuzzy\n", "")
        if "msgid_plural" in block and msgid in plural:
            forms = plural[msgid]
            block = re.sub(r'^msgstr\[0\] ""$', "msgstr[0] " + quote(forms[0]), block, flags=re.M)
        elif msgid in single:
            block = re.sub(r'^msgstr ""$', "msgstr " + quote(single[msgid]), block, flags=re.M)
        elif re.search(r'^msgstr(\[0\])? ""$', block, re.M):
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
