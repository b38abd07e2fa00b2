"""Helpers the tests share: fault proxy, uploads, process stacks, load loop, in-process apps."""
