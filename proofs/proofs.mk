# Frama-C/WP proofs of the fast paths (proofs/README.md).  Included by the top Makefile.
#   make proofs          WP + RTE + smoke tests over proofs/manifest.txt; fails on any unproved goal
#   make proofs-mutants  deliberate bugs from proofs/mutants.txt must each make WP fail
# The WP cache lives in .wpcache/ (WPCACHE=dir to move it); it only saves prover time.
.PHONY: proofs proofs-fast proofs-mutants

proofs:
	bash proofs/wp.sh -s

# the same without smoke tests (about half the time), for quick iterations
proofs-fast:
	bash proofs/wp.sh

proofs-mutants:
	bash proofs/mutants.sh
