@echo off
REM One click: set up GSV Studio (first run) and open it in your browser.
REM Arguments go to webui.py, e.g. go-webui.bat --lang zh_CN
setlocal
cd /d "%~dp0"
set "GSV_PY="
where py >nul 2>nul && set "GSV_PY=py -3"
if not defined GSV_PY (where python >nul 2>nul && set "GSV_PY=python")
if not defined GSV_PY (
    echo Python 3.10 or newer is required. Install it from https://www.python.org/downloads/ ^(tick "Add python.exe to PATH"^), then double-click this file again.
    pause
    exit /b 1
)
%GSV_PY% scripts\ensure_env.py
if errorlevel 1 (
    echo Setting up GSV Studio failed: see the messages above.
    pause
    exit /b 1
)
".venv\Scripts\python.exe" webui.py %*
if errorlevel 1 pause
exit /b %errorlevel%
