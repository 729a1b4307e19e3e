#!/bin/sh
# azd postprovision hook: check the deployment read-only (paas-hardener doctor, remediators/doctor.py).
# azd exports the environment's values (main.bicep outputs and HARDEN_* parameters) to hooks; doctor compares
# them with what Azure holds. It never fails the provision: from outside the network the endpoint check cannot
# see what the app sees. Exit codes: 0 all good, 1 findings, 2 could not judge.
set -u

python="${HARDEN_DOCTOR_PYTHON:-.venv/bin/python}"
if ! "$python" -c "import remediators.doctor" 2>/dev/null; then
  python=python3
fi
if ! "$python" -c "import remediators.doctor" 2>/dev/null; then
  echo "paas-hardener doctor skipped: no Python with the requirements (make setup), then: azd hooks run postprovision"
  exit 0
fi
"$python" -m remediators doctor
code=$?
case "$code" in
  0) echo "doctor: the deployment is complete." ;;
  1) echo "doctor: findings above; fix them and run: azd hooks run postprovision" ;;
  *) echo "doctor: some checks could not be judged from here (see above)." ;;
esac
exit 0
