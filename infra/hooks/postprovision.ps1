# azd postprovision hook: check the deployment read-only (paas-hardener doctor, remediators/doctor.py).
# See postprovision.sh: never fails the provision; exit codes 0 all good, 1 findings, 2 could not judge.
$python = if ($env:HARDEN_DOCTOR_PYTHON) { $env:HARDEN_DOCTOR_PYTHON } else { ".venv/Scripts/python.exe" }
& $python -c "import remediators.doctor" 2>$null
if ($LASTEXITCODE -ne 0) { $python = "python" }
& $python -c "import remediators.doctor" 2>$null
if ($LASTEXITCODE -ne 0) {
  Write-Host "paas-hardener doctor skipped: no Python with the requirements (make setup), then: azd hooks run postprovision"
  exit 0
}
& $python -m remediators doctor
switch ($LASTEXITCODE) {
  0 { Write-Host "doctor: the deployment is complete." }
  1 { Write-Host "doctor: findings above; fix them and run: azd hooks run postprovision" }
  default { Write-Host "doctor: some checks could not be judged from here (see above)." }
}
exit 0
