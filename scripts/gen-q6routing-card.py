#!/usr/bin/env python3
"""Generate a dynpcm card file for a Qualcomm QDSP6 (q6asm/q6afe/q6routing) sound card.

The card is built from the Linux kernel's own tables, parsed from the kernel sources:

  sound/soc/qcom/qdsp6/q6asm-dai.c          FE DAIs (MultiMediaN) and their AIF widgets (MM_DLn/MM_ULn)
  sound/soc/qcom/qdsp6/q6dsp-lpass-ports.c  the AFE port DAIs: one BE link per DAI, named as the DAI
  sound/soc/qcom/qdsp6/q6afe-dai.c          the AFE port AIF widgets and their routes to the DAI streams
  sound/soc/qcom/qdsp6/q6routing.c          the routing mixers ("<PORT> Audio Mixer", "MultiMediaN Mixer")
                                            with their switches, and the routes through them
  sound/soc/qcom/<machine>.c                the machine driver: be_hw_params_fixup (and its DAPM tables, if any)
  arch/arm64/boot/dts/qcom/<board>.dts      optional: the card's name (model) and its dai-links, for reference

Nothing is copied: the script reads the C tables in place. It understands the forms those files
use: `struct T name[] = { ... };` initializers, designated fields, the file's own #define macros
(with # and ##), adjacent string literals, and the SND_SOC_DAPM_* / SOC_SINGLE_EXT entries. A table
it cannot read stops it with file:line.

  scripts/gen-q6routing-card.py ~/linux -o examples/machines/rb5/card.yaml \
      --dts arch/arm64/boot/dts/qcom/qrb5165-rb5.dts

Every BE link gets backend {type: null} and the machine's fixup. Stdlib only.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

FILES = {
    "q6asm": "sound/soc/qcom/qdsp6/q6asm-dai.c",
    "ports": "sound/soc/qcom/qdsp6/q6dsp-lpass-ports.c",
    "q6afe": "sound/soc/qcom/qdsp6/q6afe-dai.c",
    "q6routing": "sound/soc/qcom/qdsp6/q6routing.c",
    "machine": "sound/soc/qcom/sm8250.c",
}

# ALSA's rate bits (include/sound/pcm.h) and sample formats; the card format's format names.
RATE_BITS = {"5512": [5512], "8000": [8000], "11025": [11025], "12000": [12000], "16000": [16000],
             "22050": [22050], "24000": [24000], "32000": [32000], "44100": [44100], "48000": [48000],
             "64000": [64000], "88200": [88200], "96000": [96000], "128000": [128000], "176400": [176400],
             "192000": [192000], "352800": [352800], "384000": [384000]}
RATE_BITS["8000_44100"] = [8000, 11025, 16000, 22050, 32000, 44100]
RATE_BITS["8000_48000"] = RATE_BITS["8000_44100"] + [48000]
RATE_BITS["8000_96000"] = RATE_BITS["8000_48000"] + [64000, 88200, 96000]
RATE_BITS["8000_192000"] = RATE_BITS["8000_96000"] + [176400, 192000]
RATE_BITS["8000_384000"] = RATE_BITS["8000_192000"] + [352800, 384000]
CARD_FORMATS = {"S8", "U8", "S16_LE", "S16_BE", "S24_LE", "S24_BE", "S32_LE", "S32_BE", "FLOAT_LE",
                "FLOAT64_LE", "S24_3LE", "S24_3BE"}


class ParseError(Exception):
    pass


def fail(msg):
    sys.exit(f"gen-q6routing-card: error: {msg}")


# ---------------------------------------------------------------------------------------------
# A small reader for the C the tables are written in
# ---------------------------------------------------------------------------------------------

TOKEN_RE = re.compile(r'''
    (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<chr>'(?:\\.|[^'\\\n])*')
  | (?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*
  | (?P<id>[A-Za-z_]\w*)
  | (?P<op>\#\#|->|\.\.\.|[{}()\[\],.=|&;:*\#+\-<>!~?/%^])
  | (?P<ws>[ \t\r\f\v]+|\n)
''', re.VERBOSE)


class Tok:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind, self.text, self.line = kind, text, line

    def __repr__(self):
        return f"{self.text!r}@{self.line}"


def strip_comments(src):
    """Blank out comments, keeping strings and line breaks (so line numbers stay right)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def tokenize(text, path, first_line=1):
    toks, line, pos = [], first_line, 0
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise ParseError(f"{path}:{line}: cannot read {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        if kind == "ws":
            line += m.group().count("\n")
        else:
            toks.append(Tok(kind, m.group(kind) if kind == "num" else m.group(), line))
        pos = m.end()
    return toks


class Macro:
    def __init__(self, name, params, body, line):
        self.name, self.params, self.body, self.line = name, params, body, line


class CFile:
    """One C (or dts) source: its #defines and its tokens outside preprocessor lines."""

    def __init__(self, path, label, c_tokens=True):
        self.path, self.label = path, label
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                self.raw = f.read()
        except OSError as e:
            fail(f"{path}: {e.strerror}")
        self.text = strip_comments(self.raw)
        self.macros = {}
        body_lines = []
        lines = self.text.split("\n")
        i = 0
        while i < len(lines):
            start = i
            logical = lines[i]
            while logical.endswith("\\") and i + 1 < len(lines):
                i += 1
                logical = logical[:-1] + " " + lines[i]
            if logical.lstrip().startswith("#"):
                self._define(logical, start + 1)
                body_lines.extend([""] * (i - start + 1))
            else:
                body_lines.extend(lines[start:i + 1])
            i += 1
        self.tokens = tokenize("\n".join(body_lines), label) if c_tokens else []

    def where(self, line):
        return f"{self.label}:{line}"

    def _define(self, logical, line):
        m = re.match(r"\s*#\s*define\s+([A-Za-z_]\w*)(\(([^)]*)\))?\s?(.*)$", logical)
        if not m:
            return
        params = None
        if m.group(2) is not None:
            params = [p.strip() for p in m.group(3).split(",") if p.strip()]
        self.macros[m.group(1)] = Macro(m.group(1), params, tokenize(m.group(4), self.label, line), line)

    # -- macro expansion -------------------------------------------------------------------------

    def expand(self, toks, hide=frozenset()):
        out, i = [], 0
        while i < len(toks):
            t = toks[i]
            mac = self.macros.get(t.text) if t.kind == "id" and t.text not in hide else None
            if mac is None:
                out.append(t)
                i += 1
                continue
            if mac.params is None:
                body = [Tok(b.kind, b.text, t.line) for b in mac.body]
                out.extend(self.expand(body, hide | {mac.name}))
                i += 1
                continue
            if i + 1 >= len(toks) or toks[i + 1].text != "(":
                out.append(t)
                i += 1
                continue
            args, i = self._args(toks, i + 1)
            if len(args) != len(mac.params) and not (not mac.params and args == [[]]):
                raise ParseError(f"{self.where(t.line)}: {mac.name}() takes {len(mac.params)} arguments, "
                                 f"got {len(args)}")
            out.extend(self.expand(self._substitute(mac, args, t.line), hide | {mac.name}))
        return out

    def _args(self, toks, i):
        """toks[i] is '('; return the argument token lists and the index after ')'."""
        depth, args, cur = 0, [], []
        start_line = toks[i].line
        i += 1
        while i < len(toks):
            t = toks[i]
            if t.text in "([{":
                depth += 1
            elif t.text in ")]}":
                if depth == 0:
                    args.append(cur)
                    return args, i + 1
                depth -= 1
            elif t.text == "," and depth == 0:
                args.append(cur)
                cur = []
                i += 1
                continue
            cur.append(t)
            i += 1
        raise ParseError(f"{self.where(start_line)}: unterminated macro call")

    def _substitute(self, mac, args, line):
        amap = dict(zip(mac.params, args))
        body, out, i = mac.body, [], 0
        while i < len(body):
            b = body[i]
            if b.text == "#" and i + 1 < len(body) and body[i + 1].text in amap:
                spelled = " ".join(a.text for a in amap[body[i + 1].text])
                out.append(Tok("str", '"' + spelled.replace("\\", "\\\\").replace('"', '\\"') + '"', line))
                i += 2
                continue
            if b.text == "##" and out and i + 1 < len(body):
                right = body[i + 1]
                rtoks = amap.get(right.text, [right]) if right.kind == "id" else [right]
                left = out.pop()
                pasted = left.text + (rtoks[0].text if rtoks else "")
                out.extend(tokenize(pasted, self.label, line))
                out.extend(Tok(r.kind, r.text, line) for r in rtoks[1:])
                i += 2
                continue
            nxt_is_paste = i + 1 < len(body) and body[i + 1].text == "##"
            if b.kind == "id" and b.text in amap:
                arg = amap[b.text]
                out.extend(Tok(a.kind, a.text, line) for a in (arg if nxt_is_paste else self.expand(arg)))
            else:
                out.append(Tok(b.kind, b.text, line))
            i += 1
        return out

    # -- tables -------------------------------------------------------------------------------------

    def arrays(self, struct_type):
        """Every `struct <struct_type> NAME[] = { ... }` in the file, as {NAME: (line, [items])}."""
        found, toks = {}, self.tokens
        for i in range(len(toks) - 6):
            if toks[i].text == "struct" and toks[i + 1].text == struct_type and toks[i + 2].kind == "id" \
                    and toks[i + 3].text == "[" and toks[i + 4].text == "]" and toks[i + 5].text == "=" \
                    and toks[i + 6].text == "{":
                end = self._match(i + 6)
                init = Parser(self, self.expand(toks[i + 6:end + 1])).initializer()
                if not isinstance(init, Init):
                    raise ParseError(f"{self.where(toks[i].line)}: {toks[i + 2].text}[] is not a brace list")
                found[toks[i + 2].text] = (toks[i].line, init.items)
        return found

    def _match(self, i):
        depth = 0
        for j in range(i, len(self.tokens)):
            if self.tokens[j].text == "{":
                depth += 1
            elif self.tokens[j].text == "}":
                depth -= 1
                if depth == 0:
                    return j
        raise ParseError(f"{self.where(self.tokens[i].line)}: unbalanced braces")


class Init:
    """A brace initializer: positional items, and designated fields (`.name = value`)."""

    def __init__(self, line):
        self.line, self.items, self.fields = line, [], {}


class Call:
    def __init__(self, name, args, line):
        self.name, self.args, self.line = name, args, line


class Ident(str):
    pass


class Flags(list):
    """`A | B | C` of identifiers."""


class Raw:
    def __init__(self, toks):
        self.text, self.line = " ".join(t.text for t in toks), toks[0].line if toks else 0


def c_string(lit):
    return bytes(lit[1:-1], "utf-8").decode("unicode_escape")


class Parser:
    def __init__(self, cfile, toks):
        self.f, self.toks, self.i = cfile, toks, 0

    def peek(self, k=0):
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self, text=None):
        t = self.peek()
        if t is None or (text is not None and t.text != text):
            line = t.line if t else (self.toks[-1].line if self.toks else 0)
            raise ParseError(f"{self.f.where(line)}: expected {text!r}, found {t.text if t else 'end of table'!r}")
        self.i += 1
        return t

    def initializer(self):
        t = self.peek()
        if t is not None and t.text == "{":
            self.take("{")
            init = Init(t.line)
            while self.peek() is not None and self.peek().text != "}":
                if self.peek().text == "." and self.peek(1) is not None and self.peek(1).kind == "id":
                    self.take(".")
                    name = self.take().text
                    self.take("=")
                    init.fields[name] = self.initializer()
                else:
                    init.items.append(self.initializer())
                if self.peek() is not None and self.peek().text == ",":
                    self.take(",")
                elif self.peek() is None or self.peek().text != "}":
                    bad = self.peek()
                    raise ParseError(f"{self.f.where(bad.line if bad else t.line)}: expected ',' or '}}' in the "
                                     f"initializer opened at line {t.line}, found {bad.text if bad else 'end'!r}")
            self.take("}")
            return init
        return self.expression()

    def expression(self):
        """Tokens up to ',' '}' or ')' at depth 0, read as a value."""
        start, depth = self.i, 0
        while self.peek() is not None:
            t = self.peek()
            if t.text in "([{":
                depth += 1
            elif t.text in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif t.text == "," and depth == 0:
                break
            self.i += 1
        return value(self.f, self.toks[start:self.i])


def value(cfile, toks):
    if not toks:
        return None
    while toks[0].text == "(" and cfile_match_paren(toks) == len(toks) - 1:
        toks = toks[1:-1]
    if all(t.kind == "str" for t in toks):
        return "".join(c_string(t.text) for t in toks)
    if len(toks) == 1:
        t = toks[0]
        if t.kind == "num":
            return int(t.text, 0)
        if t.kind == "id":
            return None if t.text == "NULL" else Ident(t.text)
    if toks[0].kind == "id" and len(toks) > 1 and toks[1].text == "(" and cfile_match_paren(toks, 1) == len(toks) - 1:
        p = Parser(cfile, toks[2:-1])
        args = []
        while p.peek() is not None:
            args.append(p.initializer())
            if p.peek() is not None:
                p.take(",")
        return Call(toks[0].text, args, toks[0].line)
    if all(t.kind == "id" for t in toks[0::2]) and all(t.text == "|" for t in toks[1::2]):
        return Flags(t.text for t in toks[0::2])
    return Raw(toks)


def cfile_match_paren(toks, i=0):
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].text == "(":
            depth += 1
        elif toks[j].text == ")":
            depth -= 1
            if depth == 0:
                return j
    return -1


# ---------------------------------------------------------------------------------------------
# From the tables to the card
# ---------------------------------------------------------------------------------------------

class Card:
    def __init__(self):
        self.fe_links, self.be_links, self.widgets, self.routes = [], [], [], []
        self.notes = []          # what the YAML header says was dropped or adapted
        self.dropped_routes, self.dropped_widgets, self.null_streams = [], [], []

    def note(self, msg, header=True):
        if header and msg not in self.notes:
            self.notes.append(msg)
        print(f"gen-q6routing-card: note: {msg}", file=sys.stderr)


def need_str(v, cfile, line, what):
    if not isinstance(v, str) or isinstance(v, Ident):
        raise ParseError(f"{cfile.where(line)}: {what}: expected a string literal")
    return v


def stream_caps(cfile, init, card, who):
    """A snd_soc_pcm_stream initializer -> the card's stream keys."""
    f = init.fields
    s = {"stream": need_str(f.get("stream_name"), cfile, init.line, f"{who} stream_name")}
    rates, unknown = set(), []
    for bit in flags_of(f.get("rates"), cfile, init.line, f"{who} rates"):
        m = re.fullmatch(r"SNDRV_PCM_RATE_(\w+)", bit)
        if m and m.group(1) in RATE_BITS:
            rates.update(RATE_BITS[m.group(1)])
        elif bit in ("SNDRV_PCM_RATE_KNOT", "SNDRV_PCM_RATE_CONTINUOUS"):
            unknown.append(bit)
        else:
            raise ParseError(f"{cfile.where(init.line)}: {who}: unknown rate bit {bit}")
    if "SNDRV_PCM_RATE_CONTINUOUS" in unknown:
        s["rates"] = {"min": f.get("rate_min"), "max": f.get("rate_max")}
    elif rates:
        s["rates"] = sorted(rates)
    if "SNDRV_PCM_RATE_KNOT" in unknown:
        card.note(f"{cfile.where(init.line)}: {who}: SNDRV_PCM_RATE_KNOT (rates set by a constraint list) "
                  f"is not modelled; the listed rate bits are used")
    fmts, dropped = [], []
    for bit in flags_of(f.get("formats"), cfile, init.line, f"{who} formats"):
        m = re.fullmatch(r"SNDRV_PCM_FMTBIT_(\w+)", bit)
        if not m:
            raise ParseError(f"{cfile.where(init.line)}: {who}: unknown format bit {bit}")
        (fmts if m.group(1) in CARD_FORMATS else dropped).append(m.group(1))
    if dropped:
        card.note(f"{cfile.where(init.line)}: {who}: formats {', '.join(dropped)} have no card-file name; left out")
    if fmts:
        s["formats"] = fmts
    lo, hi = f.get("channels_min"), f.get("channels_max")
    if isinstance(lo, int) and isinstance(hi, int):
        s["channels"] = lo if lo == hi else {"min": lo, "max": hi}
    return s


def flags_of(v, cfile, line, what):
    if v is None:
        return []
    if isinstance(v, Ident):
        return [str(v)]
    if isinstance(v, Flags):
        return list(v)
    raise ParseError(f"{cfile.where(line)}: {what}: expected SNDRV_PCM_* bits, found {getattr(v, 'text', v)!r}")


def dai_drivers(cfile, card, array=None):
    arrays = cfile.arrays("snd_soc_dai_driver")
    if array:
        arrays = {k: v for k, v in arrays.items() if k == array}
    if not arrays:
        raise ParseError(f"{cfile.label}: no `struct snd_soc_dai_driver {array or 'NAME'}[] = {{...}}` table found")
    dais = []
    for name, (line, items) in arrays.items():
        for it in items:
            if not isinstance(it, Init):
                raise ParseError(f"{cfile.where(getattr(it, 'line', line))}: {name}[]: an entry is not a "
                                 f"DAI initializer")
            dname = need_str(it.fields.get("name"), cfile, it.line, f"{name}[] entry .name")
            d = {"name": dname, "line": it.line}
            for dirn in ("playback", "capture"):
                s = it.fields.get(dirn)
                if isinstance(s, Init):
                    d[dirn] = stream_caps(cfile, s, card, f"DAI {dname} {dirn}")
            if "playback" not in d and "capture" not in d:
                raise ParseError(f"{cfile.where(it.line)}: DAI {dname} has neither playback nor capture")
            dais.append(d)
    return dais


def dapm_widgets(cfile, kcontrols):
    """SND_SOC_DAPM_* entries of every snd_soc_dapm_widget table -> card widgets."""
    out = []
    for name, (line, items) in cfile.arrays("snd_soc_dapm_widget").items():
        for it in items:
            if not isinstance(it, Call):
                raise ParseError(f"{cfile.where(getattr(it, 'line', line))}: {name}[]: entry is not a "
                                 f"SND_SOC_DAPM_*() macro")
            a = it.args
            wname = need_str(a[0] if a else None, cfile, it.line, f"{it.name} name")
            if it.name in ("SND_SOC_DAPM_AIF_IN", "SND_SOC_DAPM_AIF_OUT"):
                sname = a[1] if len(a) > 1 else None
                if sname is not None:
                    sname = need_str(sname, cfile, it.line, f"{it.name}({wname!r}) stream name")
                out.append({"name": wname, "type": "aif_in" if it.name.endswith("_IN") else "aif_out",
                            "stream": sname, "where": cfile.where(it.line), "file": cfile.label})
            elif it.name == "SND_SOC_DAPM_MIXER":
                if len(a) < 6 or not isinstance(a[4], Ident):
                    raise ParseError(f"{cfile.where(it.line)}: SND_SOC_DAPM_MIXER({wname!r}): expected "
                                     f"(name, reg, shift, invert, controls, ARRAY_SIZE(controls))")
                if a[4] not in kcontrols:
                    raise ParseError(f"{cfile.where(it.line)}: mixer {wname!r}: no snd_kcontrol_new "
                                     f"table {a[4]}[] in {cfile.label}")
                out.append({"name": wname, "type": "mixer", "controls": kcontrols[a[4]],
                            "where": cfile.where(it.line), "file": cfile.label})
            else:
                raise ParseError(f"{cfile.where(it.line)}: {it.name}: widget macro not handled by this script")
    return out


def kcontrol_tables(cfile):
    tables = {}
    for name, (line, items) in cfile.arrays("snd_kcontrol_new").items():
        ctls = []
        for it in items:
            if not isinstance(it, Call) or it.name != "SOC_SINGLE_EXT" or len(it.args) != 7:
                raise ParseError(f"{cfile.where(getattr(it, 'line', line))}: {name}[]: expected "
                                 f"SOC_SINGLE_EXT(name, reg, shift, max, invert, get, put)")
            cname = need_str(it.args[0], cfile, it.line, "SOC_SINGLE_EXT name")
            if it.args[3] != 1:
                raise ParseError(f"{cfile.where(it.line)}: {cname}: max {it.args[3]!r}; only switches (max 1) "
                                 f"are handled")
            ctls.append(cname)
        tables[name] = ctls
    return tables


def dapm_routes(cfile):
    out = []
    for name, (line, items) in cfile.arrays("snd_soc_dapm_route").items():
        for it in items:
            if not isinstance(it, Init) or len(it.items) != 3 or it.fields:
                raise ParseError(f"{cfile.where(getattr(it, 'line', line))}: {name}[]: expected "
                                 f"{{sink, control, source}}")
            sink, ctl, src = it.items
            for v, what in ((sink, "sink"), (src, "source")):
                need_str(v, cfile, it.line, f"route {what}")
            if ctl is not None:
                need_str(ctl, cfile, it.line, "route control")
            out.append({"sink": sink, "control": ctl, "source": src, "where": cfile.where(it.line)})
    return out


def machine_fixup(cfile):
    m = re.search(r"static\s+int\s+(\w*be_hw_params_fixup)\s*\([^)]*\)\s*\{", cfile.text)
    if not m:
        fail(f"{cfile.label}: no `static int *be_hw_params_fixup(...)` function found")
    line = cfile.text.count("\n", 0, m.start()) + 1
    depth, i = 0, m.end() - 1
    for i in range(m.end() - 1, len(cfile.text)):
        depth += {"{": 1, "}": -1}.get(cfile.text[i], 0)
        if depth == 0:
            break
    body = cfile.text[m.end():i]
    rate = re.search(r"rate->min\s*=\s*rate->max\s*=\s*(\d+)\s*;", body)
    ch = re.search(r"channels->min\s*=\s*channels->max\s*=\s*(\d+)\s*;", body)
    fmt = re.search(r"snd_mask_set_format\(\s*\w+\s*,\s*SNDRV_PCM_FORMAT_(\w+)\s*\)", body)
    if not (rate and ch and fmt):
        fail(f"{cfile.where(line)}: {m.group(1)}(): expected `rate->min = rate->max = N;`, "
             f"`channels->min = channels->max = N;` and `snd_mask_set_format(fmt, SNDRV_PCM_FORMAT_X)`")
    if not re.search(r"be_hw_params_fixup\s*=\s*" + m.group(1), cfile.text):
        fail(f"{cfile.label}: {m.group(1)}() is never assigned to a dai_link's be_hw_params_fixup")
    return {"rate": int(rate.group(1)), "channels": int(ch.group(1)), "format": fmt.group(1)}, \
        f"{cfile.label}:{line} {m.group(1)}()"


def parse_dts(cfile):
    """The sound node's model and dai-links (name, cpu, codecs), for the header."""
    text = cfile.text
    m = re.search(r"(?:&sound|\bsound)\s*\{", text)
    if not m:
        fail(f"{cfile.label}: no sound node")
    model = re.search(r'\bmodel\s*=\s*"([^"]*)"', text[m.end():])
    links = []
    for lm in re.finditer(r'([\w-]+-dai-link)\s*\{(.*?)\n\t\};', text[m.end():], re.S):
        body = lm.group(2)
        name = re.search(r'link-name\s*=\s*"([^"]*)"', body)
        cpu = re.search(r"cpu\s*\{\s*sound-dai\s*=\s*<([^>]*)>", body)
        codec = re.search(r"codec\s*\{\s*sound-dai\s*=\s*([^;]*);", body)
        links.append((name.group(1) if name else lm.group(1),
                      " ".join(cpu.group(1).split()) if cpu else "?",
                      " ".join(codec.group(1).split()) if codec else None))
    return (model.group(1) if model else None), links


def build(files, card):
    q6asm, ports, q6afe, routing, machine = (files[k] for k in ("q6asm", "ports", "q6afe", "q6routing", "machine"))

    # FE links: the MultiMediaN DAIs q6asm declares, both directions as its template has them.
    for d in dai_drivers(q6asm, card, "q6asm_fe_dais_template"):
        link = {"name": d["name"]}
        for dirn in ("playback", "capture"):
            if dirn in d:
                link[dirn] = d[dirn]
        card.fe_links.append(link)

    # BE links: one per AFE port DAI, named as the kernel names the DAI.
    fixup, fixup_where = machine_fixup(machine)
    for d in dai_drivers(ports, card):
        link = {"name": d["name"]}
        for dirn in ("playback", "capture"):
            if dirn in d:
                link[dirn] = d[dirn]
        link["backend"] = {"type": None}
        link["fixup"] = fixup
        link["cpu_dai"] = d["name"]
        card.be_links.append(link)

    streams = {s[d]["stream"] for s in card.fe_links + card.be_links for d in ("playback", "capture") if d in s}

    # Widgets: q6asm's FE AIFs, q6afe's port AIFs, q6routing's mixers, and the machine's own (if any).
    widgets, routes = [], []
    for cf in (q6asm, q6afe, routing, machine):
        widgets += dapm_widgets(cf, kcontrol_tables(cf))
        routes += dapm_routes(cf)

    seen = {}
    for w in widgets:
        if w["name"] in seen:
            fail(f"{w['where']}: widget {w['name']!r} already defined at {seen[w['name']]}")
        seen[w["name"]] = w["where"]
        if w.get("stream") == "NULL":
            card.note(f"{w['where']}: widget {w['name']!r} has the stream name \"NULL\" (a string, not NULL); "
                      f"it names no DAI stream, so it binds to none", header=False)
            card.null_streams.append(w["name"])
            w["stream"] = None
        if w.get("stream") and w["stream"] not in streams:
            card.note(f"{w['where']}: widget {w['name']!r}: stream {w['stream']!r} is no DAI's stream; "
                      f"the widget binds to none")
            w["stream"] = None

    # Routes whose endpoints exist neither as widgets nor as DAI streams are left out (the kernel
    # would refuse them); routes into a mixer must name one of its switches.
    names = set(seen) | streams
    by_name = {w["name"]: w for w in widgets}
    kept = []
    for r in routes:
        missing = [e for e in (r["sink"], r["source"]) if e not in names]
        if missing:
            card.note(f"{r['where']}: route [{r['sink']}, {q(r['control'])}, {r['source']}] left out: "
                      f"no widget or DAI stream {', '.join(map(repr, missing))}", header=False)
            card.dropped_routes.append((r, missing))
            continue
        sink = by_name.get(r["sink"])
        if r["control"] is not None:
            if not sink or r["control"] not in sink.get("controls", []):
                fail(f"{r['where']}: route control {r['control']!r}: sink {r['sink']!r} has no such switch")
        kept.append(r)

    # AFE AIF widgets left with no route and no stream belong to ports with no DAI here.
    used = {e for r in kept for e in (r["sink"], r["source"])}
    for w in widgets:
        if w["type"] in ("aif_in", "aif_out") and not w.get("stream") and w["name"] not in used:
            card.note(f"{w['where']}: widget {w['name']!r} left out: it connects to nothing", header=False)
            card.dropped_widgets.append(w)
            continue
        card.widgets.append(w)
    card.routes = kept
    if card.null_streams:
        card.notes.append(f"{len(card.null_streams)} AIF widgets of {q6afe.label} have the stream name \"NULL\" "
                          f"(a string: they bind to no DAI stream; their routes connect them): "
                          f"{card.null_streams[0]} .. {card.null_streams[-1]}")
    if card.dropped_routes:
        files_ = sorted({r['where'].rsplit(':', 1)[0] for r, _ in card.dropped_routes})
        missing = sorted({m for _, ms in card.dropped_routes for m in ms})
        card.notes.append(f"{len(card.dropped_routes)} routes of {', '.join(files_)} left out: they name DAI "
                          f"streams that {ports.label} does not declare: {', '.join(missing)}")
    if card.dropped_widgets:
        card.notes.append(f"{len(card.dropped_widgets)} AIF widgets left out, connected to nothing once those "
                          f"routes are gone: {', '.join(w['name'] for w in card.dropped_widgets)}")
    return fixup_where


# ---------------------------------------------------------------------------------------------
# YAML out
# ---------------------------------------------------------------------------------------------

PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_ .()/+-]*")
YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}


def q(s):
    if s is None:
        return "~"
    if isinstance(s, int):
        return str(s)
    if PLAIN.fullmatch(s) and s.lower() not in YAML_WORDS and not s.endswith(" ") and ": " not in s:
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def flow(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    return q(v)


def emit(card, header):
    out = [f"# {h}" if h else "#" for h in header]
    out.append(f"card: {q(card.name)}")
    # What the RB5 presents to UCM (snd_ctl_card_info): alsa-ucm-conf's conf.d/sm8250/<long name>.conf.
    out.append("identity: {id: RB5, driver: sm8250, name: Qualcomm-RB5-WSA8815-Speakers, "
               "long_name: Qualcomm-RB5-WSA8815-Speakers-DMIC0}  # UCM: conf.d/sm8250/<long name>.conf")
    out.append("")
    def link_head(link):  # what FE and BE links share: the name and the two directions
        out.append(f"  - name: {q(link['name'])}")
        for dirn in ("playback", "capture"):
            if dirn in link:
                out.append(f"    {dirn}: {flow(link[dirn])}")

    out.append(f"fe_links:                     # {len(card.fe_links)}: the MultiMedia DAIs of q6asm-dai.c")
    for link in card.fe_links:
        link_head(link)
    out.append("")
    out.append(f"be_links:                     # {len(card.be_links)}: the AFE port DAIs of q6dsp-lpass-ports.c")
    for link in card.be_links:
        link_head(link)
        out.append("    backend: {type: null}" if link["backend"] == {"type": None} else f"    backend: {flow(link['backend'])}")
        out.append(f"    fixup: {flow(link['fixup'])}")
        out.append(f"    cpu_dai: {q(link['cpu_dai'])}")
    out.append("")
    out.append("widgets:")
    anchors, current_file = {}, None
    for w in card.widgets:
        if w["file"] != current_file:
            current_file = w["file"]
            out.append(f"  # ---- {current_file} ----")
        if w["type"] == "mixer":
            key = tuple(w["controls"])
            if key in anchors:
                ctl = f"*{anchors[key]}"
            else:
                anchors[key] = f"switches{len(anchors) + 1}"
                ctl = f"&{anchors[key]} " + flow([{"name": c} for c in w["controls"]])
            out.append(f"  - {{name: {q(w['name'])}, type: mixer, controls: {ctl}}}")
        else:
            extra = f", stream: {q(w['stream'])}" if w.get("stream") else ""
            out.append(f"  - {{name: {q(w['name'])}, type: {w['type']}{extra}}}")
    out.append("")
    out.append("routes:                       # [sink, control, source], as the kernel's tables write them")
    current = None
    for r in card.routes:
        f = r["where"].rsplit(":", 1)[0]
        if f != current:
            current = f
            out.append(f"  # ---- {f} ----")
        out.append(f"  - [{q(r['sink'])}, {q(r['control'])}, {q(r['source'])}]")
    return "\n".join(out) + "\n" + UCM_CODEC_CONTROLS


# Not in the q6 tables: written out as the drivers declare them, so the stock profile runs.
UCM_CODEC_CONTROLS = """
# The codec controls alsa-ucm-conf 1.2.8's RB5 profile writes (codecs/wsa881x/*, codecs/qcom-lpass/
# wsa-macro/* and va-macro/DMIC0*), with their drivers' types and ranges (wsa881x.c with the
# SpkrLeft/SpkrRight prefixes, lpass-wsa-macro.c, lpass-va-macro.c). They lie past the BEs: they
# change no FE->BE route, but an unknown name would abort the profile's sequences.
controls:
  - {name: SpkrLeft PA Volume, type: int, max: 12}
  - {name: SpkrRight PA Volume, type: int, max: 12}
  - {name: SpkrLeft BOOST Switch, type: bool}
  - {name: SpkrRight BOOST Switch, type: bool}
  - {name: SpkrLeft COMP Switch, type: bool}
  - {name: SpkrRight COMP Switch, type: bool}
  - {name: SpkrLeft DAC Switch, type: bool}
  - {name: SpkrRight DAC Switch, type: bool}
  - {name: SpkrLeft VISENSE Switch, type: bool}
  - {name: SpkrRight VISENSE Switch, type: bool}
  - {name: WSA RX0 MUX, type: enum, items: [ZERO, AIF1_PB, AIF_MIX1_PB]}
  - {name: WSA RX1 MUX, type: enum, items: [ZERO, AIF1_PB, AIF_MIX1_PB]}
  - {name: WSA_RX0 INP0, type: enum, items: [ZERO, RX0, RX1, RX_MIX0, RX_MIX1, DEC0, DEC1]}
  - {name: WSA_RX1 INP0, type: enum, items: [ZERO, RX0, RX1, RX_MIX0, RX_MIX1, DEC0, DEC1]}
  - {name: WSA_COMP1 Switch, type: bool}
  - {name: WSA_COMP2 Switch, type: bool}
  - {name: WSA_RX0 Digital Volume, type: int, max: 124, db: {min: -84, step: 1}}
  - {name: WSA_RX1 Digital Volume, type: int, max: 124, db: {min: -84, step: 1}}
  - {name: VA DMIC MUX0, type: enum, items: [ZERO, DMIC0, DMIC1, DMIC2, DMIC3, DMIC4, DMIC5, DMIC6, DMIC7]}
  - {name: VA_AIF1_CAP Mixer DEC0, type: bool}
  - {name: VA_DEC0 Volume, type: int, max: 124, db: {min: -84, step: 1}}
"""


def revision(path, given):
    if given:
        return given
    d = os.path.dirname(os.path.abspath(path))
    try:
        return subprocess.run(["git", "-C", d, "log", "-1", "--format=%H", "--", os.path.abspath(path)],
                              capture_output=True, text=True, check=True).stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kernel", nargs="?", help="kernel source tree (the files below default to paths in it)")
    for key, rel in FILES.items():
        ap.add_argument(f"--{key}", metavar="FILE", help=f"this file instead of KERNEL/{rel}")
    ap.add_argument("--dts", metavar="FILE", help="board device tree: the card's name (model) and its dai-links")
    ap.add_argument("--name", help="card name (default: the dts model, else 'sm8250')")
    ap.add_argument("--rev", action="append", default=[], metavar="[KEY=]REV",
                    help="the revision to record for all files, or for one (KEY: q6asm, ports, q6afe, "
                         "q6routing, machine, dts); default: git log of each file")
    ap.add_argument("--note", action="append", default=[], help="a line for the header (e.g. where the sources came from)")
    ap.add_argument("-o", "--output", help="write the card here (default: stdout)")
    args = ap.parse_args(argv)

    revs = {}
    for r in args.rev:
        k, sep, v = r.partition("=")
        if sep and k in list(FILES) + ["dts"]:
            revs[k] = v
        else:
            revs["*"] = r
    files = {}
    for key, rel in FILES.items():
        path = getattr(args, key) or (os.path.join(args.kernel, rel) if args.kernel else None)
        if not path:
            fail(f"give the kernel tree or --{key}")
        label = rel if not getattr(args, key) else os.path.basename(path)
        if args.kernel and os.path.abspath(path).startswith(os.path.abspath(args.kernel) + os.sep):
            label = os.path.relpath(path, args.kernel)
        files[key] = CFile(path, label)
        files[key].rev = revision(path, revs.get(key, revs.get("*")))

    card = Card()
    try:
        fixup_where = build(files, card)
    except ParseError as e:
        fail(str(e))

    dts_links, model = [], None
    if args.dts:
        dts = CFile(args.dts, os.path.relpath(args.dts, args.kernel) if args.kernel else os.path.basename(args.dts),
                    c_tokens=False)
        dts.rev = revision(args.dts, revs.get("dts", revs.get("*")))
        model, dts_links = parse_dts(dts)
    card.name = args.name or model or "sm8250"

    n_ctl = sum(len(w["controls"]) for w in card.widgets if w["type"] == "mixer")
    n_mix = sum(1 for w in card.widgets if w["type"] == "mixer")
    cmd = shlex.join(["scripts/gen-q6routing-card.py"] + argv)
    header = [
        "GENERATED FILE - do not edit; regenerate with:",
        f"  {cmd}",
        "",
        "A dynpcm card for a Qualcomm QDSP6 (q6asm + q6afe + q6routing) machine, from the kernel's tables:",
    ]
    for key in FILES:
        header.append(f"  {files[key].label}  @ {files[key].rev}")
    if args.dts:
        header.append(f"  {dts.label}  @ {dts.rev}  (card name and the dai-links below)")
    header += [f"  {n}" for n in args.note]
    header += [
        "",
        f"{len(card.fe_links)} FE links (q6asm's MultiMedia DAIs, both directions as its template declares them),",
        f"{len(card.be_links)} BE links (one per AFE port DAI, named as the kernel names the DAI), "
        f"{n_mix} routing mixers with {n_ctl} switches, {len(card.routes)} routes.",
        f"Every BE link: backend null, fixup {flow(files and card.be_links[0]['fixup'])} from {fixup_where}.",
        "Mixer switches start off, as q6routing's do (no session is routed until a switch is set).",
    ]
    if dts_links:
        header += ["", "The board's own dai-links (DT), for reference; this card has every port:"]
        for name, cpu, codec in dts_links:
            header.append(f"  {name}: cpu <{cpu}>" + (f", codec {codec}" if codec else " (FE)"))
    if card.notes:
        header += ["", "Adapted or left out (kernel tables the card format or these sources cannot carry):"]
        header += [f"  - {n}" for n in card.notes]
    text = emit(card, header)
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    print(f"gen-q6routing-card: {len(card.fe_links)} FE links, {len(card.be_links)} BE links, {n_mix} mixers, "
          f"{n_ctl} switches, {len(card.widgets)} widgets, {len(card.routes)} routes", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
