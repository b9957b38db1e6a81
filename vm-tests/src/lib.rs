//! zelle's tests on FreeBSD in QEMU (see README.md): nothing yet.
