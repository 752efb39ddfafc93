#!/usr/bin/env bash
# The whole test suite on a fresh machine: system packages, the package
# with its test extras, the C core under AddressSanitizer/UBSan, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
python3 -m pip install -q --upgrade pip
python3 -m pip install -q ".[test]"

# The C core on its own, with sanitizers (CTest).
cmake -S . -B build/ctest-asan -DFITSMILL_C_TESTS=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" >/dev/null
cmake --build build/ctest-asan -j2 >/dev/null
ctest --test-dir build/ctest-asan --output-on-failure

# Run from tests/ against the installed package, not the source tree.
python3 -m pytest -p no:cacheprovider "$@" tests
