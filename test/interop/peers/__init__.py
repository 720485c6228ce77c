# SPDX-License-Identifier: MIT
"""Peer servers of the interop suite, by command-line key, in table order.
Add ejabberd / jabberd2 as further modules with a PeerServer subclass."""
from peers.ejabberd import Ejabberd
from peers.jabberd2 import Jabberd2
from peers.prosody import Prosody

SERVERS = {cls.key: cls for cls in (Prosody, Ejabberd, Jabberd2)}
