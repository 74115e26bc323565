//! End-to-end conformance tests live in tests/.
