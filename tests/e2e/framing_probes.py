"""
framing_probes.py: request-smuggling probes, shared by test_framing.py (sent
straight to ratify) and test_nginx.py (sent through the nginx config).

Each probe is a POST to a path of its own whose header block is ambiguous or
malformed, followed on the same connection by a hidden request
(GET /hidden-..., with Connection: close). A server that frames the probe
the way an attacker hopes answers the hidden request too; a safe one answers
400 once and closes the connection, and neither path ever reaches a handler
(the access log, which names every handled request, must not show them).
"""

import uuid
from dataclasses import dataclass

HOST = "127.0.0.1"


def hidden_request(path):
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"


def _post(path, headers, body):
    head = f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n"
    head += "".join(h + "\r\n" for h in headers)
    return head + "\r\n" + body


def _chunked(data):
    return f"{len(data):x}\r\n{data}\r\n0\r\n\r\n"


FORM_TYPE = "Content-Type: application/x-www-form-urlencoded"


@dataclass
class Probe:
    name: str
    build: object  # (probe path, hidden request text) -> request text
    # Statuses nginx may answer with instead of 400: RFC 9112 6.1 asks for
    # 501 when the transfer coding is not understood.
    nginx_statuses: tuple = (400,)
    # Transfer codings are case-insensitive (RFC 9112 7), so this is plain
    # chunked to a proxy that reads it right: nginx may de-chunk it and pass
    # it on, the follow-up then being an ordinary pipelined request. Ratify,
    # reached directly, refuses any spelling other than "chunked".
    chunked_per_rfc: bool = False
    # Why libmicrohttpd 0.9.75 itself answers this one wrongly, before Ratify
    # sees it (doc/HACKING.md, "Where the design ... was changed"): the
    # direct test is then an expected failure; nginx in front must still
    # refuse it cleanly.
    direct_xfail: str = ""
    # Extra spaces in the request line are not ambiguous to nginx, which
    # skips them and forwards a clean request line: one answer from Ratify
    # is then as good as nginx's own 400.
    nginx_may_normalise: bool = False
    # nginx does not look inside the query string: it forwards the request
    # as it is, and Ratify's 400 comes back through it. nginx keeps the
    # client's connection open (Ratify's "Connection: close" is for the
    # upstream connection), so the request after it is answered as an
    # ordinary, separately framed request.
    nginx_passes_on: bool = False

    def request(self, tag=None):
        """(bytes to send, probe path, hidden path)."""
        tag = tag or uuid.uuid4().hex[:12]
        path, hidden = f"/probe-{tag}", f"/hidden-{tag}"
        return self.build(path, hidden_request(hidden)).encode("latin-1"), path, hidden


def _cl_twice_same(p, h):
    body = "a=b" + h
    return _post(p, [FORM_TYPE, "Content-Length: 3", "Content-Length: 3"], body)


def _cl_twice_different(p, h):
    body = "a=b" + h
    return _post(p, [FORM_TYPE, "Content-Length: 3", f"Content-Length: {len(body)}"], body)


def _cl_te(p, h):
    body = "0\r\n\r\n" + h  # CL.TE: a chunked reader sees h as the next request
    return _post(p, [FORM_TYPE, f"Content-Length: {len(body)}", "Transfer-Encoding: chunked"], body)


def _te_cl(p, h):
    body = _chunked(h)  # TE.CL: a length reader sees h inside the next "request"
    return _post(p, [FORM_TYPE, "Transfer-Encoding: chunked", "Content-Length: 3"], body)


def _te(value):
    def build(p, h):
        return _post(p, [FORM_TYPE, f"Transfer-Encoding: {value}"], "0\r\n\r\n" + h)
    return build


def _te_twice(p, h):
    return _post(p, [FORM_TYPE, "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
                 "0\r\n\r\n" + h)


def _te_raw(line):
    def build(p, h):
        return _post(p, [FORM_TYPE, line], "0\r\n\r\n" + h)
    return build


def _cl_value(value, body="a=b&c"):
    def build(p, h):
        return _post(p, [FORM_TYPE, f"Content-Length: {value}"], body + h)
    return build


def _cl_line(line, body="a=b&c"):
    def build(p, h):
        return _post(p, [FORM_TYPE, line], body + h)
    return build


def _obs_fold(fold):
    def build(p, h):
        body = "a=b&c"
        return _post(p, [FORM_TYPE, "X-Note: first", fold, f"Content-Length: {len(body)}"], body + h)
    return build


def _obs_fold_te(p, h):
    # "Transfer-Encoding:" with its value on a continuation line.
    return _post(p, [FORM_TYPE, "Transfer-Encoding:", " chunked"], "0\r\n\r\n" + h)


def _obs_fold_hiding_te(p, h):
    # A front end that does not unfold sees Transfer-Encoding: chunked here;
    # one that unfolds sees it inside X-Note and frames by Content-Length.
    body = "0\r\n\r\n" + h
    return _post(p, [FORM_TYPE, f"Content-Length: {len(body)}", "X-Note: a",
                     " Transfer-Encoding: chunked"], body)


def _two_hosts(p, h):
    return (f"POST {p} HTTP/1.1\r\nHost: {HOST}\r\nHost: evil.example\r\n{FORM_TYPE}\r\n"
            f"Content-Length: 3\r\n\r\na=b" + h)


def _request_line(line, headers=(f"Host: {HOST}",)):
    """A GET whose request line is line.format(p=probe path)."""
    def build(p, h):
        head = line.format(p=p) + "\r\n" + "".join(x + "\r\n" for x in headers)
        return head + "\r\n" + h
    return build


def _nul_header(line, body="a=b&c"):
    """A POST carrying line (which holds a NUL byte) before its framing."""
    def build(p, h):
        return _post(p, [FORM_TYPE, line, f"Content-Length: {len(body)}"], body + h)
    return build


MHD_DOUBLE_400 = ("libmicrohttpd 0.9.75 rejects a Content-Length it cannot parse itself, "
                  "then builds the response headers a second time: the 400 goes out twice")
MHD_SILENT_CLOSE = ("libmicrohttpd 0.9.75 drops a request line without a method "
                    "before Ratify sees it, without any answer")

PROBES = [
    Probe("two Content-Length, same value", _cl_twice_same),
    Probe("two Content-Length, different values", _cl_twice_different),
    Probe("Content-Length + Transfer-Encoding: chunked", _cl_te),
    Probe("Transfer-Encoding: chunked + Content-Length", _te_cl),
    Probe("Transfer-Encoding: gzip", _te("gzip"), nginx_statuses=(400, 501)),
    Probe("Transfer-Encoding: chunked, identity", _te("chunked, identity"), nginx_statuses=(400, 501)),
    Probe("Transfer-Encoding: gzip, chunked", _te("gzip, chunked"), nginx_statuses=(400, 501)),
    Probe("Transfer-Encoding: Chunked", _te("Chunked"), nginx_statuses=(400, 501),
          chunked_per_rfc=True),
    Probe("Transfer-Encoding: <VT>chunked", _te("\x0bchunked"), nginx_statuses=(400, 501)),
    Probe("Transfer-Encoding: xchunked", _te("xchunked"), nginx_statuses=(400, 501)),
    Probe("two Transfer-Encoding: chunked", _te_twice),
    Probe("Transfer-Encoding<SP>: chunked", _te_raw("Transfer-Encoding : chunked")),
    Probe("Content-Length: +5", _cl_value("+5"),
          direct_xfail=MHD_DOUBLE_400),
    Probe("Content-Length: 5, 5", _cl_value("5, 5"),
          direct_xfail=MHD_DOUBLE_400),
    Probe("Content-Length: -1", _cl_value("-1"),
          direct_xfail=MHD_DOUBLE_400),
    Probe("Content-Length: 0x5", _cl_value("0x5"),
          direct_xfail=MHD_DOUBLE_400),
    Probe("Content-Length<SP>: 5", _cl_line("Content-Length : 5")),
    Probe("Content-Length<TAB>: 5", _cl_line("Content-Length\t: 5")),
    Probe("tab inside the header name", _cl_line("Content-\tLength: 5")),
    Probe("control character (0x01) in the header name", _cl_line("Content\x01Length: 5")),
    Probe("DEL (0x7f) in the header name", _cl_line("Content\x7fLength: 5")),
    Probe("obs-fold: line starting with a space", _obs_fold(" continued")),
    Probe("obs-fold: line starting with a tab", _obs_fold("\tcontinued")),
    Probe("obs-fold: Transfer-Encoding value on a continuation line", _obs_fold_te),
    Probe("obs-fold: continuation line hiding Transfer-Encoding", _obs_fold_hiding_te),
    Probe("two Host headers", _two_hosts),
    # Content-Length values libmicrohttpd refuses itself.
    Probe("Content-Length: 1x", _cl_value("1x"), direct_xfail=MHD_DOUBLE_400),
    Probe("Content-Length: 2^64 (overflow)", _cl_value("18446744073709551616"),
          direct_xfail=MHD_DOUBLE_400.replace("400", "413")),
    # The request line.
    Probe("space inside the target", _request_line("GET {p}/a b HTTP/1.1")),
    Probe("two spaces around the target", _request_line("GET  {p}  HTTP/1.1"),
          nginx_may_normalise=True),
    Probe("two spaces before the target", _request_line("GET  {p} HTTP/1.1"),
          nginx_may_normalise=True),
    Probe("two spaces after the target", _request_line("GET {p}  HTTP/1.1"),
          nginx_may_normalise=True),
    Probe("space before the method", _request_line(" GET {p} HTTP/1.1"),
          direct_xfail=MHD_SILENT_CLOSE),
    Probe("tab inside the target", _request_line("GET {p}\tb HTTP/1.1")),
    Probe("%00 in the path", _request_line("GET {p}%00b HTTP/1.1")),
    Probe("%00 in the query", _request_line("GET {p}?q=a%00b HTTP/1.1"), nginx_passes_on=True),
    Probe("NUL byte in the path", _request_line("GET {p}\0b HTTP/1.1")),
    Probe("NUL byte in the query", _request_line("GET {p}?q=a\0b HTTP/1.1")),
    Probe("invalid percent escape", _request_line("GET {p}%zz HTTP/1.1")),
    Probe("percent sign at the end", _request_line("GET {p}?q=100% HTTP/1.1"),
          nginx_passes_on=True),
    Probe("HTTP/1.1 without Host", _request_line("GET {p} HTTP/1.1", headers=())),
    # NUL bytes in header lines: the value seen stops at the NUL.
    Probe("NUL byte in Content-Length", _cl_line("Content-Length: 3\0 junk", body="a=b")),
    Probe("NUL byte before the end of Content-Length", _cl_line("Content-Length: 5\0")),
    Probe("NUL byte in Transfer-Encoding", _te_raw("Transfer-Encoding: chunked\0 junk")),
    Probe("NUL byte in another header", _nul_header("X-Note: a\0b")),
    Probe("NUL byte in Host", _request_line("GET {p} HTTP/1.1",
                                            headers=(f"Host: {HOST}\0evil.example",))),
]


# Whitespace around "chunked" that HTTP defines as optional whitespace (OWS,
# RFC 9110 5.5 / RFC 9112 5.1: not part of the field value). Such a value is
# exactly "chunked", so these are not ambiguous; the server may refuse them
# (400) or read the body as chunked, but must never mis-frame it.
OWS_TE_VALUES = {
    "two spaces before chunked": "Transfer-Encoding:  chunked",
    "tab before chunked": "Transfer-Encoding:\tchunked",
    "space after chunked": "Transfer-Encoding: chunked ",
    "tab after chunked": "Transfer-Encoding: chunked\t",
}


def ows_request(line, tag=None):
    """A chunked POST with a non-empty chunk, then a visible GET. Returns
    (bytes, probe path, follow-up path)."""
    tag = tag or uuid.uuid4().hex[:12]
    path, after = f"/ows-{tag}", f"/after-{tag}"
    text = _post(path, [FORM_TYPE, line], _chunked("a=b&c=d") + hidden_request(after))
    return text.encode("latin-1"), path, after
