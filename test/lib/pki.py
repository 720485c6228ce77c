# SPDX-License-Identifier: MIT
"""The test certificates, made by test/tools/mkcerts.sh (see its header for
domain lists and NAME:OPT specs)."""
import os
import subprocess

from .testkit import check

MKCERTS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools',
                                        'mkcerts.sh'))


def mkcerts(path, args, what=None):
    """Run `mkcerts.sh PATH ARGS...` (its CA is made once per directory and
    kept); Fail with its stderr if it fails ('mkcerts.sh WHAT failed',
    WHAT defaulting to PATH). Returns path."""
    r = subprocess.run(['bash', MKCERTS, path] + list(args), capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f'mkcerts.sh {what or path} failed: {r.stderr.strip()}')
    return path


class Pki:
    """A certificate directory: DIR/ca.pem signs a leaf per argument
    (DIR/NAME.pem, NAME.chain.pem, NAME.key, NAME the argument's first
    domain). foreign: another directory, whose CA (foreign_ca) signed only
    foreign.test: trusting only it makes every certificate of DIR
    'untrusted'. Both directories are readable by everyone (peer servers
    run as their own system users). Fail if mkcerts.sh fails."""

    def __init__(self, path, domains, foreign=None):
        self.dir = path
        self.ca = os.path.join(path, 'ca.pem')
        self.foreign_ca = os.path.join(foreign, 'ca.pem') if foreign else None
        for d, args in ((path, list(domains)), (foreign, ['foreign.test'])):
            if d:
                mkcerts(d, args)
                os.chmod(d, 0o755)

    def special(self, name, opts):
        """A spec certificate (mkcerts.sh NAME:OPTS, e.g. 'san=dns:xs2s.test+xmpp:xs2s.test'),
        signed by this directory's CA like the others; returns NAME for cert()/key()."""
        mkcerts(self.dir, [f'{name}:{opts}'], f'{self.dir} {name}:{opts}')
        return name

    def cert(self, name, chain=True):
        """NAME's certificate: with its CA (NAME.chain.pem) or the leaf alone (NAME.pem)."""
        return os.path.join(self.dir, name + ('.chain.pem' if chain else '.pem'))

    def key(self, name):
        return os.path.join(self.dir, name + '.key')
