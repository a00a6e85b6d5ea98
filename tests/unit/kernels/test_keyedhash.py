"""SipHash-2-4 over Arrow arrays: the reference test vectors, then Arrow layouts, lengths and keys.

The vectors are the reference implementation's (https://github.com/veorq/SipHash, ``vectors.h``): key
``00 01 … 0f``, message *i* = the bytes ``00 01 … (i-1)`` for i = 0…63, each output as the bytes the
reference writes. A small scalar SipHash written from the same reference (``_reference``) checks what
the vectors do not reach: long values, odd layouts.
"""

from __future__ import annotations

import ast
import os
import random
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from contactlake.kernels.keyedhash import SIPHASH_1_3, derive_key, siphash64, siphash128


def _words(text: str) -> list[str]:
    return text.split()


KEY = bytes(range(16))
MESSAGES = [bytes(range(i)) for i in range(64)]

# vectors_sip64 from vectors.h, one 8-byte output per message, as hex.
VECTORS_64 = _words("""
    310e0edd47db6f72 fd67dc93c539f874 5a4fa9d909806c0d 2d7efbd796666785 b7877127e09427cf 8da699cd64557618
    cee3fe586e46c9cb 37d1018bf50002ab 6224939a79f5f593 b0e4a90bdf82009e f3b9dd94c5bb5d7a a7ad6b22462fb3f4
    fbe50e86bc8f1e75 903d84c02756ea14 eef27a8e90ca23f7 e545be4961ca29a1 db9bc2577fcc2a3f 9447be2cf5e99a69
    9cd38d96f0b3c14b bd6179a71dc96dbb 98eea21af25cd6be c7673b2eb0cbf2d0 883ea3e395675393 c8ce5ccd8c030ca8
    94af49f6c650adb8 eab8858ade92e1bc f315bb5bb835d817 adcf6b0763612e2f a5c91da7acaa4dde 716595876650a2a6
    28ef495c53a387ad 42c341d8fa92d832 ce7cf2722f512771 e37859f94623f3a7 381205bb1ab0e012 ae97a10fd434e015
    b4a31508beff4d31 81396229f0907902 4d0cf49ee5d4dcca 5c73336a76d8bf9a d0a704536ba93e0e 925958fcd6420cad
    a915c29bc8067318 952b79f3bc0aa6d4 f21df2e41d4535f9 87577519048f53a9 10a56cf5dfcd9adb eb75095ccd986cd0
    51a9cb9ecba312e6 96afadfc2ce666c7 72fe52975a4364ee 5a1645b276d592a1 b274cb8ebf87870a 6f9bb4203de7b381
    eaecb2a30b22a87f 9924a43cc1315724 bd838d3aafbf8db7 0b1a2a3265d51aea 135079a3231ce660 932b2846e4d70666
    e1915f5cb1eca46c f325965ca16d629f 575ff28e60381be5 724506eb4c328a95
""")
# vectors_sip128 from vectors.h, one 16-byte output per message, as hex.
VECTORS_128 = _words("""
    a3817f04ba25a8e66df67214c7550293 da87c1d86b99af44347659119b22fc45 8177228da4a45dc7fca38bdef60affe4
    9c70b60c5267a94e5f33b6b02985ed51 f88164c12d9c8faf7d0f6e7c7bcd5579 1368875980776f8854527a07690e9627
    14eeca338b208613485ea0308fd7a15e a1f1ebbed8dbc153c0b84aa61ff08239 3b62a9ba6258f5610f83e264f31497b4
    264499060ad9baabc47f8b02bb6d71ed 00110dc378146956c95447d3f3d0fbba 0151c568386b6677a2b4dc6f81e5dc18
    d626b266905ef35882634df68532c125 9869e247e9c08b10d029934fc4b952f7 31fcefac66d7de9c7ec7485fe4494902
    5493e99933b0a8117e08ec0f97cfc3d9 6ee2a4ca67b054bbfd3315bf85230577 473d06e8738db89854c066c47ae47740
    a426e5e423bf4885294da481feaef723 78017731cf65fab074d5208952512eb1 9e25fc833f2290733e9344a5e83839eb
    568e495abe525a218a2214cd3e071d12 4a29b54552d16b9a469c10528eff0aae c9d184ddd5a9f5e0cf8ce29a9abf691c
    2db479ae78bd50d8882a8a178a6132ad 8ece5f042d5e447b5051b9eacb8d8f6f 9c0b53b4b3c307e87eaee08678141f66
    abf248af69a6eae4bfd3eb2f129eeb94 0664da1668574b88b935f3027358aef4 aa4b9dc4bf337de90cd4fd3c467c6ab7
    ea5c7f471faf6bde2b1ad7d4686d2287 2939b0183223fafc1723de4f52c43d35 7c3956ca5eeafc3e363e9d556546eb68
    77c6077146f01c32b6b69d5f4ea9ffcf 37a6986cb8847edf0925f0f1309b54de a705f0e69da9a8f907241a2e923c8cc8
    3dc47d1f29c448461e9e76ed904f6711 0d62bf01e6fc0e1a0d3c4751c5d3692b 8c03468bca7c669ee4fd5e084bbee7b5
    528a5bb93baf2c9c4473cce5d0d22bd9 df6a301e95c95dad97ae0cc8c6913bd8 801189902c857f39e73591285e70b6db
    e617346ac9c231bb3650ae34ccca0c5b 27d93437efb721aa401821dcec5adf89 89237d9ded9c5e78d8b1c9b166cc7342
    4a6d8091bf5e7d651189fa94a250b14c 0e33f96055e7ae893ffc0e3dcf492902 e61c432b720b19d18ec8d84bdc63151b
    f7e5aef549f782cf379055a608269b16 438d030fd0b7a54fa837f2ad201a6403 a590d3ee4fbf04e3247e0d27f286423f
    5fe2c1a172fe93c4b15cd37caef9f538 2c97325cbd06b36eb2133dd08b3a017c 92c814227a6bca949ff0659f002ad39e
    dce850110bd8328cfbd50841d6911d87 67f14984c7da791248e32bb5922583da 1938f2cf72d54ee97e94166fa91d2a36
    74481e9646ed49fe0f6224301604698e 57fca5de98a9d6d8006438d0583d8a1d 9fecde1cefdc1cbed4763674d9575359
    e3040c00eb28f15366ca73cbd872e740 7697009a6a831dfecca91c5993670f7a 5853542321f567a005d547a4f04759bd
    5150d1772f50834a503e069a973fbd7c
""")


_M64 = (1 << 64) - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def _reference(message: bytes, key: bytes, outlen: int = 8) -> bytes:
    """Scalar SipHash-2-4, line by line after the reference ``siphash.c``."""
    k0, k1 = int.from_bytes(key[:8], "little"), int.from_bytes(key[8:], "little")
    v = [0x736F6D6570736575 ^ k0, 0x646F72616E646F6D ^ k1, 0x6C7967656E657261 ^ k0, 0x7465646279746573 ^ k1]
    if outlen == 16:
        v[1] ^= 0xEE

    def rounds(n: int) -> None:
        for _ in range(n):
            v[0] = (v[0] + v[1]) & _M64
            v[1] = _rotl(v[1], 13) ^ v[0]
            v[0] = _rotl(v[0], 32)
            v[2] = (v[2] + v[3]) & _M64
            v[3] = _rotl(v[3], 16) ^ v[2]
            v[0] = (v[0] + v[3]) & _M64
            v[3] = _rotl(v[3], 21) ^ v[0]
            v[2] = (v[2] + v[1]) & _M64
            v[1] = _rotl(v[1], 17) ^ v[2]
            v[2] = _rotl(v[2], 32)

    full = len(message) - len(message) % 8
    words = [int.from_bytes(message[i : i + 8], "little") for i in range(0, full, 8)]
    words.append(int.from_bytes(message[full:], "little") | ((len(message) & 0xFF) << 56))
    for m in words:
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    v[2] ^= 0xEE if outlen == 16 else 0xFF
    rounds(4)
    out = (v[0] ^ v[1] ^ v[2] ^ v[3]).to_bytes(8, "little")
    if outlen == 16:
        v[1] ^= 0xDD
        rounds(4)
        out += (v[0] ^ v[1] ^ v[2] ^ v[3]).to_bytes(8, "little")
    return out


def _bytes64(hashes: np.ndarray) -> list[bytes]:
    return [int(h).to_bytes(8, "little") for h in hashes]


def _bytes128(hashes: np.ndarray) -> list[bytes]:
    assert hashes.shape == (len(hashes), 2)
    return [bytes(row) for row in hashes.astype("<u8").view(np.uint8).reshape(-1, 16)]


def test_the_vectors_are_the_reference_file() -> None:
    assert len(VECTORS_64) == len(VECTORS_128) == 64
    assert {len(v) for v in VECTORS_64} == {16}
    assert {len(v) for v in VECTORS_128} == {32}
    assert VECTORS_64[0] == "310e0edd47db6f72"  # the first and last rows of vectors.h
    assert VECTORS_128[63] == "5150d1772f50834a503e069a973fbd7c"


def test_reference_vectors_64() -> None:
    hashes = siphash64(pa.array(MESSAGES, pa.binary()), KEY)
    assert hashes.dtype == np.uint64
    assert [h.hex() for h in _bytes64(hashes)] == VECTORS_64


def test_reference_vectors_128() -> None:
    hashes = siphash128(pa.array(MESSAGES, pa.binary()), KEY)
    assert hashes.dtype == np.uint64
    assert [h.hex() for h in _bytes128(hashes)] == VECTORS_128


@pytest.mark.parametrize("i", range(64))
def test_each_vector_alone(i: int) -> None:
    """One row at a time: the path where every row of a chunk has the same word count."""
    one = pa.array([MESSAGES[i]], pa.large_binary())
    assert _bytes64(siphash64(one, KEY))[0].hex() == VECTORS_64[i]
    assert _bytes128(siphash128(one, KEY))[0].hex() == VECTORS_128[i]


def test_the_scalar_reference_agrees_with_the_vectors() -> None:
    assert [_reference(m, KEY).hex() for m in MESSAGES] == VECTORS_64
    assert [_reference(m, KEY, 16).hex() for m in MESSAGES] == VECTORS_128


def test_strings_hash_their_utf8_bytes_in_every_arrow_type() -> None:
    text = ["", "+447700900123", "jane.doe@example.com", "Zoë Ångström", "电话号码", "🙂" * 5]
    expected = [_reference(t.encode(), KEY, 16) for t in text]
    for kind in (pa.string(), pa.large_string()):
        assert _bytes128(siphash128(pa.array(text, kind), KEY)) == expected
    for kind in (pa.binary(), pa.large_binary()):
        assert _bytes128(siphash128(pa.array([t.encode() for t in text], kind), KEY)) == expected


def test_long_and_mixed_lengths() -> None:
    rng = random.Random(7)
    values = [
        rng.randbytes(rng.choice([0, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 256, 1000])) for _ in range(300)
    ]
    values += [b"x" * 1000, b"\xff" * 4099]
    hashed = siphash64(pa.array(values, pa.binary()), KEY)
    assert _bytes64(hashed) == [_reference(v, KEY) for v in values]
    hashed128 = siphash128(pa.array(values, pa.large_binary()), KEY)
    assert _bytes128(hashed128) == [_reference(v, KEY, 16) for v in values]


def test_rows_spanning_several_internal_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from contactlake.kernels import keyedhash

    monkeypatch.setattr(keyedhash, "_CHUNK_ROWS", 7)
    rng = random.Random(11)
    values = [rng.randbytes(rng.randrange(0, 40)) if rng.random() > 0.2 else None for _ in range(100)]
    hashed = siphash128(pa.array(values, pa.binary()), KEY)
    assert _bytes128(hashed) == [_reference(v, KEY, 16) if v is not None else bytes(16) for v in values]


def test_a_byte_budget_splits_chunks_of_long_values(monkeypatch: pytest.MonkeyPatch) -> None:
    from contactlake.kernels import keyedhash

    monkeypatch.setattr(keyedhash, "_CHUNK_BYTES", 100)
    rng = random.Random(5)
    values = [rng.randbytes(rng.choice([3, 40, 99, 100, 101, 250])) for _ in range(60)]
    hashed = siphash64(pa.array(values, pa.large_binary()), KEY)
    assert _bytes64(hashed) == [_reference(v, KEY) for v in values]


def test_nulls_give_zero() -> None:
    values = pa.array(["a", None, "", None, "+447700900123"])
    hashed = siphash64(values, KEY)
    assert hashed[1] == 0
    assert hashed[3] == 0
    assert _bytes64(hashed[[0, 2, 4]]) == [_reference(v, KEY) for v in (b"a", b"", b"+447700900123")]
    assert (siphash128(values, KEY)[[1, 3]] == 0).all()
    all_null = siphash128(pa.array([None, None], pa.string()), KEY)
    assert all_null.shape == (2, 2)
    assert (all_null == 0).all()


def test_a_null_slot_that_spans_bytes_still_gives_zero() -> None:
    """Arrow allows a null slot to cover bytes; they are not hashed."""
    offsets = pa.array([0, 3, 6, 9], pa.int32()).buffers()[1]
    validity = pa.array([True, False, True]).buffers()[1]
    values = pa.StringArray.from_buffers(3, offsets, pa.py_buffer(b"abcdefghi"), validity)
    hashed = siphash64(values, KEY)
    assert _bytes64(hashed) == [_reference(b"abc", KEY), bytes(8), _reference(b"ghi", KEY)]


def test_sliced_arrays_use_their_offset_and_validity() -> None:
    values = [f"+44770090{i:04d}" * (1 + i % 5) if i % 3 else None for i in range(50)]
    whole = pa.array(values, pa.string())
    for start, stop in [(1, 50), (3, 20), (9, 10), (13, 13), (17, 49)]:
        part = whole.slice(start, stop - start)
        assert part.offset == start
        expected = [
            _reference(v.encode(), KEY, 16) if v is not None else bytes(16) for v in values[start:stop]
        ]
        assert _bytes128(siphash128(part, KEY)) == expected


def test_chunked_arrays_are_one_row_per_row() -> None:
    values = ["+441", None, "+4420794600000", "x" * 200, "", "ä"]
    flat = siphash128(pa.array(values), KEY)
    chunked = pa.chunked_array([values[:2], [], values[2:5], pa.array(values[5:]).slice(0)], pa.string())
    assert np.array_equal(siphash128(chunked, KEY), flat)
    assert np.array_equal(siphash64(chunked, KEY), siphash64(pa.array(values), KEY))
    sliced_chunks = pa.chunked_array([pa.array(values).slice(1, 3), pa.array(values).slice(4)])
    assert np.array_equal(siphash128(sliced_chunks, KEY), flat[1:])


def test_empty_inputs() -> None:
    assert siphash64(pa.array([], pa.string()), KEY).shape == (0,)
    assert siphash128(pa.array([], pa.binary()), KEY).shape == (0, 2)
    assert siphash128(pa.chunked_array([], pa.string()), KEY).shape == (0, 2)
    assert siphash64(pa.chunked_array([pa.array([], pa.string())]), KEY).shape == (0,)


def test_the_key_must_be_16_bytes() -> None:
    values = pa.array(["+447700900123"])
    for key in (b"", b"short", bytes(15), bytes(17), bytes(32)):
        with pytest.raises(ValueError, match="16 bytes"):
            siphash64(values, key)
        with pytest.raises(ValueError, match="16 bytes"):
            siphash128(values, key)


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError, match="string"):
        siphash64(pa.array([1, 2, 3]), KEY)


def test_the_key_changes_the_hash() -> None:
    values = pa.array(["+447700900123"])
    assert siphash128(values, KEY)[0].tolist() != siphash128(values, bytes(16))[0].tolist()


def test_derive_key_gives_16_bytes_per_secret_and_purpose() -> None:
    key = derive_key(b"configured secret", "contactlake-pii")
    assert len(key) == 16
    assert key == derive_key(b"configured secret", "contactlake-pii")
    assert key != derive_key(b"configured secret", "something-else")
    assert key != derive_key(b"another secret", "contactlake-pii")
    assert len(derive_key(b"k" * 500, "contactlake-pii")) == 16
    assert derive_key(b"k" * 500, "p") != derive_key(b"k" * 499, "p")  # a long secret counts in full
    with pytest.raises(ValueError, match="empty"):
        derive_key(b"", "contactlake-pii")
    with pytest.raises(ValueError, match="purpose"):
        derive_key(b"secret", "a purpose longer than sixteen bytes")


def test_siphash_1_3_is_cpythons_own_hash_of_bytes() -> None:
    """CPython hashes ``bytes`` with SipHash-1-3 (``sys.hash_info.algorithm``); with ``PYTHONHASHSEED=0``
    its key is sixteen zero bytes. Any length from 1 to 40 bytes (0 is special-cased by CPython)."""
    if sys.hash_info.algorithm != "siphash13":
        pytest.skip(f"this Python hashes with {sys.hash_info.algorithm}")
    rng = random.Random(13)
    values = [bytes(rng.randrange(256) for _ in range(length)) for length in range(1, 41) for _ in range(3)]
    probe = "import sys; values = eval(sys.stdin.read()); print([hash(v) % 2**64 for v in values])"
    run = subprocess.run(
        [sys.executable, "-c", probe],
        input=repr(values),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    expected = ast.literal_eval(run.stdout)
    got = siphash64(pa.array(values, pa.binary()), bytes(16), SIPHASH_1_3)
    assert got.tolist() == expected  # (CPython maps a hash of -1 to -2: 2**64-1 does not occur here)
