#!/usr/bin/env python3
"""Extracts the uncompressed ELF vmlinux from a bzImage, if it can be booted
directly through its PVH entry point.

    extract_vmlinux.py BZIMAGE OUT

Like the kernel's scripts/extract-vmlinux: finds the compressed payload by its
magic (xz or gzip, the formats Python decompresses without extra tools), and
accepts the first one that decompresses to an ELF file. Exit 0 with OUT
written when that ELF has a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 18;
kernel CONFIG_PVH); exit 1 otherwise (the caller boots the bzImage instead).

Why: QEMU loads a PVH ELF straight into guest memory, so the guest skips the
BIOS real-mode boot and the in-guest decompression, which under TCG takes
several seconds (Debian's kernel is xz-compressed).
"""
import gzip
import lzma
import struct
import sys
import zlib

XEN_ELFNOTE_PHYS32_ENTRY = 18


def candidates(data):
    for magic, decomp in ((b"\xfd7zXZ\x00", lambda b: lzma.LZMADecompressor().decompress(b)),
                          (b"\x1f\x8b\x08", lambda b: zlib.decompressobj(31).decompress(b))):
        pos = data.find(magic)
        while pos >= 0:
            try:
                out = decomp(data[pos:])
                if out[:4] == b"\x7fELF":
                    yield out
            except (lzma.LZMAError, zlib.error, EOFError):
                pass
            pos = data.find(magic, pos + 1)


def has_pvh_note(elf):
    if elf[4] != 2 or elf[5] != 1:  # ELFCLASS64, little endian
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        off, end = p_offset, p_offset + p_filesz
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, off)
            name = elf[off + 12:off + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            off += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)
    return False


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: extract_vmlinux.py BZIMAGE OUT")
    data = open(sys.argv[1], "rb").read()
    for elf in candidates(data):
        if has_pvh_note(elf):
            with open(sys.argv[2], "wb") as f:
                f.write(elf)
            return 0
        print("extract_vmlinux.py: ELF found but it has no PVH entry note", file=sys.stderr)
        return 1
    print("extract_vmlinux.py: no xz/gzip ELF payload found", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
