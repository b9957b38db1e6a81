//! The real FreeBSD kernel behind zelle-core's traits (see README.md).
