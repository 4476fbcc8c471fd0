"""Independent SMS segment counter for the tests: GSM 03.38 via the `gsm0338`
codec from PyPI, UCS-2 via Python's UTF-16 codec.

stdin: a JSON list of strings; stdout: a JSON list of [encoding, units, segments].
"""
import json
import sys

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)


def chunks(units, size, splittable):
    """Number of segments of `size` units; `splittable(i)` says whether a segment may end before unit i."""
    count, start = 1, 0
    while len(units) - start > size:
        end = start + size
        while not splittable(end):
            end -= 1
        start = end
        count += 1
    return count


def count(text):
    try:
        septets = text.encode("gsm03.38")
    except UnicodeEncodeError:
        septets = None
    if septets is not None:
        if len(septets) <= 160:
            return ["GSM-7", len(septets), 1]
        # never end a segment right after an escape (0x1B): the pair stays together
        return ["GSM-7", len(septets), chunks(septets, 153, lambda i: septets[i - 1] != 0x1B)]
    raw = text.encode("utf-16-be")
    units = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
    if len(units) <= 70:
        return ["UCS-2", len(units), 1]
    # never end a segment between a high and a low surrogate
    return ["UCS-2", len(units), chunks(units, 67, lambda i: not (0xD800 <= units[i - 1] <= 0xDBFF))]


json.dump([count(t) for t in json.load(sys.stdin)], sys.stdout)
