"""The development server's decoding of chunked request bodies (sageint/request_bodies.py), byte by byte."""

import io

import pytest
from django.http import UnreadablePostError

from sageint.request_bodies import ChunkedBody, is_chunked

FRAMED = (
    b"4\r\nWiki\r\n6;name=value\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT REQUEST"
)


def test_read_returns_the_decoded_body_and_leaves_what_follows_in_the_socket():
    raw = io.BytesIO(FRAMED)

    assert ChunkedBody(raw).read() == b"Wikipedia in \r\n\r\nchunks."
    assert raw.read() == b"NEXT REQUEST"


def test_sized_reads_fill_the_size_across_chunks_like_a_file():
    body = ChunkedBody(io.BytesIO(FRAMED))

    assert body.read(7) == b"Wikiped"
    assert body.read(100) == b"ia in \r\n\r\nchunks."
    assert body.read(5) == b""


def test_readline_splits_on_newlines_inside_chunks():
    body = ChunkedBody(io.BytesIO(FRAMED))

    assert body.readline() == b"Wikipedia in \r\n"
    assert body.readline(1) == b"\r"
    assert body.read() == b"\nchunks."


@pytest.mark.parametrize(
    "framed",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",  # not a hex size
        b"3\r\nabcX\r\n0\r\n\r\n",  # chunk not followed by CRLF
        b"10\r\nshort",  # connection closed mid-chunk
        b"; only-an-extension\r\n",
    ],
)
def test_malformed_framing_is_an_unreadable_body(framed):
    with pytest.raises(UnreadablePostError):
        ChunkedBody(io.BytesIO(framed)).read()


@pytest.mark.parametrize(
    ("header", "chunked"),
    [("chunked", True), ("gzip, chunked", True), ("Chunked", True), ("chunked, gzip", False), ("", False)],
)
def test_only_a_final_chunked_coding_frames_the_body(header, chunked):
    assert is_chunked({"HTTP_TRANSFER_ENCODING": header}) is chunked
