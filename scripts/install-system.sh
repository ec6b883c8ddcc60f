#!/usr/bin/env bash
# Install the system programs the tests and reports use, if they are not there yet:
# LibreOffice Calc (recalculates report.xlsx, converts fixtures, prints workbooks) and Writer (prints the
# official documents to PDF), Liberation Serif 2 (metric-compatible with Times New Roman, with every
# Vietnamese letter: the documents' and confirmation workbooks' font), Liberation Sans (Arial's metrics:
# report.xlsx is set in Arial 10, and LibreOffice lays its pages out as Excel does only with it),
# Chromium (renders report.html) and poppler-utils (pdftotext, to read what was printed).
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
# Writer: Calc alone cannot open a .docx ("source file could not be loaded")
dpkg -s libreoffice-writer-nogui >/dev/null 2>&1 || dpkg -s libreoffice-writer >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
# Liberation 1.x lacks Vietnamese capitals with two marks (Ằ, Ỉ, Ộ…): LibreOffice would print them in another font
fc-list 2>/dev/null | grep -qi 'liberation2/LiberationSerif' || need+=(fonts-liberation2)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
# Liberation Serif and Sans: Times New Roman's and Arial's metrics (confirmation workbooks, report.xlsx)
{ fc-list | grep -qi "liberation serif" && fc-list | grep -qi "liberation sans"; } 2>/dev/null || need+=(fonts-liberation)
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
