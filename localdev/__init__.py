"""Local development kit: Azurite, a stand-in for the Functions host's bindings,
and a seeded landing zone on the local Azure emulator. Used by the demo and the
tests; never deployed (see .funcignore).
"""
