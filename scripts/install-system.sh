#!/usr/bin/env bash
# Install the system programs the tests and reports use, if they are not there yet:
# LibreOffice (recalculates report.xlsx, converts fixtures, prints workbooks), Chromium (renders report.html),
# fonts, and poppler-utils (pdftotext, to read what was printed).
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
# the confirmation workbooks are set in Times New Roman: Liberation Serif has its metrics (LibreOffice prints them)
fc-list 2>/dev/null | grep -qi "liberation serif" || need+=(fonts-liberation)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)  # the print tests read the PDFs LibreOffice writes
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system: need ${need[*]}; run as root or install them with apt-get" >&2
  exit 1
fi
echo "install-system: installing ${need[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
