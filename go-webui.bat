@echo off
REM One click: set up GSV Studio (first run) and open it in your browser.
REM Arguments go to webui.py, e.g. go-webui.bat --lang zh_CN
REM go-webui.bat --dry-run prints every step (Python found, what setup would install, the
REM launch command) and changes nothing.
setlocal EnableExtensions
chcp 65001 >nul 2>nul
set "GSV_HERE=%~dp0"
REM Started from System32 (e.g. "Run as administrator" on a copy placed there): refuse, the
REM environment and the workspace must not be written into the Windows folder.
if /i "%GSV_HERE%"=="%SystemRoot%\System32\" goto :system32
cd /d "%GSV_HERE%"
if errorlevel 1 goto :failed
set "GSV_DRY="
if /i "%~1"=="--dry-run" (
    set "GSV_DRY=--dry-run"
    shift
)
REM Python: GSV_PYTHON when set, else a portable one next to this file (python\ or
REM runtime\), then the py launcher, then python on PATH.
set "GSV_PY="
if defined GSV_PYTHON set "GSV_PY=%GSV_PYTHON%"
if not defined GSV_PY if exist "%GSV_HERE%python\python.exe" set "GSV_PY="%GSV_HERE%python\python.exe""
if not defined GSV_PY if exist "%GSV_HERE%runtime\python.exe" set "GSV_PY="%GSV_HERE%runtime\python.exe""
REM Each is run, not just looked up: "python" may be the Microsoft Store's stand-in, and py
REM may hold no Python 3.10+. (No "a && b" here: Wine's cmd runs b even when a fails.)
if not defined GSV_PY (
    py -3 -c "import sys; sys.exit(sys.version_info < (3, 10))" >nul 2>nul
    if not errorlevel 1 set "GSV_PY=py -3"
)
if not defined GSV_PY (
    python -c "import sys; sys.exit(sys.version_info < (3, 10))" >nul 2>nul
    if not errorlevel 1 set "GSV_PY=python"
)
if not defined GSV_PY goto :nopython
if defined GSV_DRY echo [go-webui dry run] Python: %GSV_PY%
call %GSV_PY% scripts\ensure_env.py %GSV_DRY%
if errorlevel 1 goto :failed
echo.
echo While GSV Studio runs, do not click into this window: Windows pauses the program while
echo text is selected here (QuickEdit). Press Esc if the title starts with "Select".
echo.
REM Everything after a --dry-run goes on to webui.py, as without it.
set "GSV_ARGS="
:collect
if "%~1"=="" goto :launch
set GSV_ARGS=%GSV_ARGS% %1
shift
goto :collect
:launch
if defined GSV_DRY (
    echo [go-webui dry run] would run: .venv\Scripts\python.exe webui.py%GSV_ARGS%
    exit /b 0
)
".venv\Scripts\python.exe" webui.py%GSV_ARGS%
if errorlevel 1 goto :failed
exit /b 0

:nopython
echo Python 3.10 or newer is required. Install it from https://www.python.org/downloads/ ^(tick "Add python.exe to PATH"^), or unpack a portable Python into a "python" folder next to this file, then double-click this file again.
pause
exit /b 1

:system32
echo GSV Studio will not run from %SystemRoot%\System32: it writes its environment and your
echo work next to go-webui.bat. Move the GSV Studio folder to a folder of your own (for
echo example Documents\GSV Studio) and double-click go-webui.bat there, without "Run as
echo administrator".
pause
exit /b 1

:failed
echo.
echo GSV Studio stopped with an error: see the messages above. This window stays open so
echo you can read them.
pause
exit /b 1
