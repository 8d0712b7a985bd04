# Sourced by the bench scripts: the test suite's virtualenv (tests/run.sh names it the same
# way) in $venv, with msal-django installed in it and the extra packages given as arguments.
python="${PYTHON:-python3}"
venv="${VENV:-.venv-py$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-django5.2}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -e ".[dev,redis]" "Django~=5.2.0" "$@"
