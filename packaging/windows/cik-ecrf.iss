; Inno Setup 6 script for the CIK-eCRF desktop client.
; build_installer.py fills the dollar-brace placeholders and writes the result next to the one-folder bundle
; (dist\cik-ecrf-VERSION.iss); ISCC.exe then makes dist\cik-ecrf-VERSION-windows-setup.exe.
; Unattended install for hospital IT:  cik-ecrf-${version}-windows-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /LOG=install.log
; The store lives in each user's data folder (%LOCALAPPDATA%\cik-ecrf), never under {app}: uninstalling or
; upgrading leaves the study data alone.
; Build: ${version} (commit ${commit})

[Setup]
; A fixed AppId: a newer version installs over the older one instead of beside it.
AppId={{5C1F0E2B-7A4D-4E8B-9B52-3D0C6A1E9F47}
AppName=CIK-eCRF
AppVersion=${version}
AppVerName=CIK-eCRF ${version}
AppPublisher=NCT06389305 study team
AppComments=Electronic case report forms for trial NCT06389305 (build ${commit})
VersionInfoVersion=${numeric_version}
VersionInfoProductVersion=${numeric_version}
DefaultDirName={autopf}\CIK-eCRF
DefaultGroupName=CIK-eCRF
DisableProgramGroupPage=yes
OutputDir=.
OutputBaseFilename=${output_name}
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
UninstallDisplayIcon={app}\cik-ecrf.exe
UninstallDisplayName=CIK-eCRF ${version}
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
; The whole one-folder bundle: cik-ecrf.exe (the client, no console window), cik-ecrf-cli.exe (the
; same program with a console: headless verbs and --self-test) and _internal\.
Source: "${bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; Files of an older version that this one no longer ships (a dropped Qt plugin must not linger).
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\CIK-eCRF"; Filename: "{app}\cik-ecrf.exe"
Name: "{group}\CIK-eCRF self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\cik-ecrf-cli.exe"" --self-test"
Name: "{autodesktop}\CIK-eCRF"; Filename: "{app}\cik-ecrf.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\cik-ecrf.exe"; Description: "{cm:LaunchProgram,CIK-eCRF}"; Flags: nowait postinstall skipifsilent

[Code]
// Check the installation as soon as the files are in place: the self-test opens a temporary
// encrypted store, runs the migrations, loads every form, draws one offscreen and writes a PDF.
procedure CurStepChanged(CurStep: TSetupStep);
var
  ResultCode: Integer;
begin
  if CurStep = ssPostInstall then
  begin
    if not Exec(ExpandConstant('{app}\cik-ecrf-cli.exe'), '--self-test', '', SW_HIDE, ewWaitUntilTerminated, ResultCode) then
      ResultCode := -1;
    if ResultCode <> 0 then
    begin
      Log('cik-ecrf-cli.exe --self-test failed with exit code ' + IntToStr(ResultCode));
      SuppressibleMsgBox('The CIK-eCRF self-test failed (exit code ' + IntToStr(ResultCode) + ').' + #13#10 +
        'Open a command prompt and run "' + ExpandConstant('{app}') + '\cik-ecrf-cli.exe --self-test" to see which step.',
        mbError, MB_OK, IDOK);
    end;
  end;
end;
