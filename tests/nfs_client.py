"""nfs_client.py SERVER EXPORT UID OP PATH [DATA]: one NFSv4 operation by libnfs (Debian package libnfs13) as UID,
the way a node's NFS client sends a pod's (or root's) request. OP: mkdir (mode 0777, as csi-driver-nfs leaves a
claim's directory), write (a new 0600 file holding DATA) or read (prints the file). One process per call: libnfs
names its NFSv4 client after the process. Exits non-zero with the server's answer when refused. Run as root, libnfs
connects from a privileged port; run as another user, from an unprivileged one."""

import ctypes
import os
import sys

LIB = ctypes.CDLL("libnfs.so.13")
_P, _S, _I = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
SIGNATURES = {
    "nfs_init_context": ([], _P), "nfs_get_error": ([_P], _S), "nfs_set_version": ([_P, _I], None),
    "nfs_set_uid": ([_P, _I], None), "nfs_set_gid": ([_P, _I], None), "nfs_mount": ([_P, _S, _S], _I),
    "nfs_mkdir2": ([_P, _S, _I], _I), "nfs_create": ([_P, _S, _I, _I, ctypes.POINTER(_P)], _I),
    "nfs_open": ([_P, _S, _I, ctypes.POINTER(_P)], _I), "nfs_write": ([_P, _P, ctypes.c_uint64, _S], _I),
    "nfs_read": ([_P, _P, ctypes.c_uint64, _S], _I), "nfs_close": ([_P, _P], _I)}
for _name, (_args, _result) in SIGNATURES.items():
    getattr(LIB, _name).argtypes, getattr(LIB, _name).restype = _args, _result


def main(server, export, uid, operation, path, data=""):  # pylint: disable=too-many-arguments
    nfs = LIB.nfs_init_context()
    LIB.nfs_set_version(nfs, 4)
    LIB.nfs_set_uid(nfs, int(uid))
    LIB.nfs_set_gid(nfs, int(uid))

    def check(code):
        if code < 0:
            sys.exit(f"{operation} {path}: {LIB.nfs_get_error(nfs).decode()}")
        return code

    check(LIB.nfs_mount(nfs, server.encode(), export.encode()))
    handle = _P()
    if operation == "mkdir":
        check(LIB.nfs_mkdir2(nfs, path.encode(), 0o777))
    elif operation == "write":
        check(LIB.nfs_create(nfs, path.encode(), os.O_WRONLY | os.O_CREAT, 0o600, ctypes.byref(handle)))
        check(LIB.nfs_write(nfs, handle, len(data.encode()), data.encode()))
        LIB.nfs_close(nfs, handle)
    elif operation == "read":
        check(LIB.nfs_open(nfs, path.encode(), os.O_RDONLY, ctypes.byref(handle)))
        buffer = ctypes.create_string_buffer(65536)
        size = check(LIB.nfs_read(nfs, handle, len(buffer), buffer))
        print(buffer.raw[:size].decode(), end="")
    elif operation != "mount":
        sys.exit(f"unknown operation {operation}")


if __name__ == "__main__":
    main(*sys.argv[1:])
