<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en_US">
<context>
    <name>AddSubject</name>
    <message>
        <source>Add a subject</source>
        <translation>添加受试者</translation>
    </message>
    <message>
        <source>New subject number from this laptop ({example})</source>
        <translation>由本机生成新的受试者编号（{example}）</translation>
    </message>
    <message>
        <source>Paper screening number already given:</source>
        <translation>已有的纸质筛选编号：</translation>
    </message>
    <message>
        <source>number on the paper screening log</source>
        <translation>纸质筛选登记表上的编号</translation>
    </message>
    <message>
        <source>Add and open</source>
        <translation>添加并打开</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Adding…</source>
        <translation>正在添加…</translation>
    </message>
    <message>
        <source>Type the paper screening number, or choose a new number.</source>
        <translation>请输入纸质筛选编号，或选择生成新编号。</translation>
    </message>
    <message>
        <source>The subject is added to this laptop&apos;s store and reaches the server at the next sync.</source>
        <translation>受试者将添加到本机数据库，并在下次同步时上传到服务器。</translation>
    </message>
</context>
<context>
    <name>Conflicts</name>
    <message>
        <source>Conflicts</source>
        <translation>冲突</translation>
    </message>
    <message>
        <source>These fields were changed on two laptops from the same value. Check the source document, choose the right value and say why.</source>
        <translation>以下字段在两台电脑上从同一数值被分别修改。请核对原始资料，选择正确的数值并说明理由。</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>受试者编号</translation>
    </message>
    <message>
        <source>Visit</source>
        <translation>访视</translation>
    </message>
    <message>
        <source>Form</source>
        <translation>表单</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Values (who, when)</source>
        <translation>数值（录入人、时间）</translation>
    </message>
    <message>
        <source>Keep the value</source>
        <translation>保留的数值</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>理由</translation>
    </message>
    <message>
        <source>Resolve</source>
        <translation>解决</translation>
    </message>
    <message>
        <source>No conflicts.</source>
        <translation>没有冲突。</translation>
    </message>
    <message>
        <source>Say why this value is the right one.</source>
        <translation>请说明为何此数值正确。</translation>
    </message>
    <message>
        <source>Resolved: {field} = {value}</source>
        <translation>已解决：{field} = {value}</translation>
    </message>
</context>
<context>
    <name>Dashboard</name>
    <message>
        <source>Study dashboard</source>
        <translation>研究总览</translation>
    </message>
    <message>
        <source>{study} · site {site} · as of {today} · this laptop&apos;s data</source>
        <translation>{study} · 中心 {site} · 截至 {today} · 本机数据</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Counting…</source>
        <translation>正在统计…</translation>
    </message>
    <message>
        <source>Enrolled</source>
        <translation>已入组</translation>
    </message>
    <message>
        <source>{n} of {target} ({percent:.1f} %)</source>
        <translation>{n} / {target}（{percent:.1f}%）</translation>
    </message>
    <message>
        <source>Screened</source>
        <translation>已筛选</translation>
    </message>
    <message>
        <source>Screen failures</source>
        <translation>筛选失败</translation>
    </message>
    <message>
        <source>Visits due (7 days)</source>
        <translation>7 天内到期访视</translation>
    </message>
    <message>
        <source>Visits overdue</source>
        <translation>逾期访视</translation>
    </message>
    <message>
        <source>Enrolment against the target of {target}</source>
        <translation>入组进度（目标 {target} 例）</translation>
    </message>
    <message>
        <source>Cumulative by month. Screened: consent date recorded. Enrolled: randomized, or infused where no randomization record is on this laptop.</source>
        <translation>按月累计。已筛选：已记录知情同意日期。已入组：已随机；本机无随机记录时以已回输计。</translation>
    </message>
    <message>
        <source>No subject has consented yet.</source>
        <translation>尚无受试者签署知情同意。</translation>
    </message>
    <message>
        <source>Screen failures by criterion</source>
        <translation>按标准统计的筛选失败</translation>
    </message>
    <message>
        <source>{n} subjects not eligible; a subject counts once under each criterion not met or present.</source>
        <translation>{n} 名受试者不符合入组条件；每名受试者在其每条不符合的入选标准或存在的排除标准下各计一次。</translation>
    </message>
    <message>
        <source>No screen failure.</source>
        <translation>无筛选失败。</translation>
    </message>
    <message>
        <source>Visits due and overdue</source>
        <translation>到期及逾期访视</translation>
    </message>
    <message>
        <source>{subjects} subjects have an overdue visit. Due: the window is open or opens within 7 days.</source>
        <translation>{subjects} 名受试者有逾期访视。到期：访视窗口已开启或将在 7 天内开启。</translation>
    </message>
    <message>
        <source>{visit} — due</source>
        <translation>{visit} — 到期</translation>
    </message>
    <message>
        <source>{visit} — overdue</source>
        <translation>{visit} — 逾期</translation>
    </message>
    <message>
        <source>Nothing due or overdue.</source>
        <translation>无到期或逾期访视。</translation>
    </message>
    <message>
        <source>Forms by status</source>
        <translation>按状态统计的表单</translation>
    </message>
    <message>
        <source>{total} forms entered.</source>
        <translation>已录入 {total} 份表单。</translation>
    </message>
    <message>
        <source>Draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <source>Complete</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>Signed</source>
        <translation>已签名</translation>
    </message>
    <message>
        <source>Locked</source>
        <translation>已锁定</translation>
    </message>
    <message>
        <source>Not started, visit overdue</source>
        <translation>未开始（访视已逾期）</translation>
    </message>
    <message>
        <source>Subjects by status</source>
        <translation>按状态统计的受试者</translation>
    </message>
    <message>
        <source>Screening</source>
        <translation>筛选中</translation>
    </message>
    <message>
        <source>Eligible</source>
        <translation>符合入组</translation>
    </message>
    <message>
        <source>Randomized</source>
        <translation>已随机</translation>
    </message>
    <message>
        <source>In follow-up</source>
        <translation>随访中</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>已结束</translation>
    </message>
    <message>
        <source>Queries and source data verification</source>
        <translation>质疑与源数据核查</translation>
    </message>
    <message>
        <source>Not available in this version: there is no query or SDV workflow yet, so there is nothing to count. Open queries by age and SDV progress will appear here once they exist.</source>
        <translation>本版本尚无此功能：目前还没有质疑及源数据核查（SDV）流程，因此没有可统计的数据。待相关流程上线后，此处将显示按时长统计的未关闭质疑及 SDV 进度。</translation>
    </message>
</context>
<context>
    <name>DateField</name>
    <message>
        <source>YYYY-MM-DD</source>
        <translation>年-月-日（YYYY-MM-DD）</translation>
    </message>
    <message>
        <source>YYYY-MM-DD, YYYY-MM or YYYY</source>
        <translation>YYYY-MM-DD、YYYY-MM 或 YYYY</translation>
    </message>
    <message>
        <source>YYYY-MM-DD HH:MM (24 h, local time)</source>
        <translation>YYYY-MM-DD HH:MM（24小时制，本地时间）</translation>
    </message>
    <message>
        <source>HH:MM (24 h)</source>
        <translation>HH:MM（24小时制）</translation>
    </message>
    <message>
        <source>Choose from a calendar (Alt+Down)</source>
        <translation>从日历中选择（Alt+下箭头）</translation>
    </message>
</context>
<context>
    <name>FieldHistory</name>
    <message>
        <source>research nurse</source>
        <translation>研究护士</translation>
    </message>
    <message>
        <source>investigator</source>
        <translation>研究者</translation>
    </message>
    <message>
        <source>monitor</source>
        <translation>监查员</translation>
    </message>
    <message>
        <source>data manager</source>
        <translation>数据管理员</translation>
    </message>
    <message>
        <source>administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <source>system</source>
        <translation>系统</translation>
    </message>
</context>
<context>
    <name>FirstRun</name>
    <message>
        <source>Set up CIK eCRF</source>
        <translation>设置 CIK eCRF</translation>
    </message>
    <message>
        <source>No study data on this computer yet ({directory}). Set it up for your site; you become its first administrator.</source>
        <translation>本机尚无研究数据（{directory}）。请为您的中心完成设置，您将成为第一位管理员。</translation>
    </message>
    <message>
        <source>Site code</source>
        <translation>中心代码</translation>
    </message>
    <message>
        <source>Device code (optional)</source>
        <translation>设备代码（可选）</translation>
    </message>
    <message>
        <source>Administrator user name</source>
        <translation>管理员用户名</translation>
    </message>
    <message>
        <source>Full name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Password again</source>
        <translation>再次输入密码</translation>
    </message>
    <message>
        <source>Create</source>
        <translation>创建</translation>
    </message>
    <message>
        <source>Creating the encrypted store…</source>
        <translation>正在创建加密数据库…</translation>
    </message>
    <message>
        <source>Fill in the site code, user name and password.</source>
        <translation>请填写中心代码、用户名和密码。</translation>
    </message>
    <message>
        <source>The two passwords differ.</source>
        <translation>两次输入的密码不一致。</translation>
    </message>
    <message>
        <source>Setup failed unexpectedly; the error was reported.</source>
        <translation>设置意外失败，错误已记录。</translation>
    </message>
</context>
<context>
    <name>FormDialogs</name>
    <message>
        <source>This form is complete. Reason for the change:</source>
        <translation>此表单已完成。修改原因：</translation>
    </message>
    <message>
        <source>Confirm these values outside the expected range?</source>
        <translation>确认以下超出常见范围的数值？</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <source>This form has changes that are not saved. Save them before leaving, or discard them?</source>
        <translation>此表单有未保存的修改。离开前保存，还是放弃这些修改？</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Discard changes</source>
        <translation>放弃修改</translation>
    </message>
    <message>
        <source>Stay on the form</source>
        <translation>留在此表单</translation>
    </message>
    <message>
        <source>Signed data</source>
        <translation>已签名的数据</translation>
    </message>
    <message>
        <source>This form is signed. Saving a change clears its signature; it must be signed again. Continue?</source>
        <translation>此表单已签名。保存修改将清除其签名，需要重新签名。是否继续？</translation>
    </message>
    <message>
        <source>This form is covered by a signature on {n} forms. Saving a change clears that signature on all {n}; they must be signed again. Continue?</source>
        <translation>此表单属于一个覆盖 {n} 份表单的签名。保存修改将清除全部 {n} 份表单上的该签名，需要重新签名。是否继续？</translation>
    </message>
</context>
<context>
    <name>FormPage</name>
    <message>
        <source>Nothing to save: the central server sets this form&apos;s values when the subject is randomized.</source>
        <translation>无需保存：本表的数值由中心服务器在受试者随机化时设定。</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Saved</source>
        <translation>已保存</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <source>Nothing has changed since the last save; nothing to save.</source>
        <translation>自上次保存以来没有修改，无需保存。</translation>
    </message>
    <message>
        <source>Not saved: a completed form is changed only with a reason. Please give one.</source>
        <translation>未保存：修改已完成的表单必须填写原因，请填写。</translation>
    </message>
    <message>
        <source>Your unsaved input from before the lock is back.</source>
        <translation>锁屏前您未保存的输入已恢复。</translation>
    </message>
    <message>
        <source>History</source>
        <translation>修改记录</translation>
    </message>
    <message>
        <source>History (Ctrl+H)</source>
        <translation>修改记录（Ctrl+H）</translation>
    </message>
    <message>
        <source>The audit history of the field with the cursor</source>
        <translation>光标所在字段的稽查记录</translation>
    </message>
    <message>
        <source>No changes recorded yet.</source>
        <translation>尚无修改记录。</translation>
    </message>
    <message>
        <source>Sign…</source>
        <translation>签名…</translation>
    </message>
    <message>
        <source>Print…</source>
        <translation>打印…</translation>
    </message>
    <message>
        <source>Only investigators sign; a form is signed once it is complete.</source>
        <translation>仅研究者可签名；表单完成后方可签名。</translation>
    </message>
    <message>
        <source>✔ Signed by {name} ({role}) on {at}: {meaning}</source>
        <translation>✔ {name}（{role}）于 {at} 签名：{meaning}</translation>
    </message>
    <message>
        <source>⚠ {field} is in conflict: {values}. Resolve it under Conflicts.</source>
        <translation>⚠ {field} 存在冲突：{values}。请在“冲突”中解决。</translation>
    </message>
    <message>
        <source>⚠ A change cleared this form&apos;s signature: it needs signing again.</source>
        <translation>⚠ 修改已清除本表单的签名：需要重新签名。</translation>
    </message>
    <message>
        <source>⚠ Needs attention: this form is {status} but no longer passes its checks — {lines}</source>
        <translation>⚠ 需要处理：此表单状态为{status}，但已不再通过核查——{lines}</translation>
    </message>
</context>
<context>
    <name>FormView</name>
    <message>
        <source>Required</source>
        <translation>必填</translation>
    </message>
    <message>
        <source>Save draft</source>
        <translation>保存草稿</translation>
    </message>
    <message>
        <source>Mark complete</source>
        <translation>标记为完成</translation>
    </message>
    <message>
        <source>Cannot complete: fill in</source>
        <translation>无法完成，请填写</translation>
    </message>
    <message>
        <source>Cannot complete: correct</source>
        <translation>无法完成，请更正</translation>
    </message>
    <message>
        <source>Cannot complete yet — click a line to go to the field:</source>
        <translation>尚无法完成——点击某一行可跳转到该字段：</translation>
    </message>
    <message>
        <source>Criterion</source>
        <translation>标准</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Source values</source>
        <translation>来源数据</translation>
    </message>
    <message>
        <source>met</source>
        <translation>符合</translation>
    </message>
    <message>
        <source>not met</source>
        <translation>不符合</translation>
    </message>
    <message>
        <source>present</source>
        <translation>存在</translation>
    </message>
    <message>
        <source>absent</source>
        <translation>不存在</translation>
    </message>
    <message>
        <source>not evaluable</source>
        <translation>无法判定</translation>
    </message>
    <message>
        <source>not entered</source>
        <translation>未填写</translation>
    </message>
    <message>
        <source>1 row</source>
        <translation>1 行</translation>
    </message>
    <message>
        <source>{n} rows</source>
        <translation>{n} 行</translation>
    </message>
    <message>
        <source>Only an investigator can give this confirmation; it is shown read-only to you.</source>
        <translation>只有研究者可以给出此确认；对您仅显示为只读。</translation>
    </message>
    <message>
        <source>Save what is entered so far (Ctrl+S)</source>
        <translation>保存目前已填写的内容（Ctrl+S）</translation>
    </message>
    <message>
        <source>Check every field and mark the form complete (Ctrl+Enter)</source>
        <translation>核查所有字段并将表单标记为完成（Ctrl+Enter）</translation>
    </message>
</context>
<context>
    <name>GroupField</name>
    <message>
        <source>Add a row (Insert)</source>
        <translation>添加一行（Insert）</translation>
    </message>
    <message>
        <source>Remove the selected row (Ctrl+Delete)</source>
        <translation>删除所选行（Ctrl+Delete）</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>required, not filled in</source>
        <translation>必填，未填写</translation>
    </message>
</context>
<context>
    <name>LockScreen</name>
    <message>
        <source>Locked</source>
        <translation>已锁定</translation>
    </message>
    <message>
        <source>Patient data is hidden after a period without use. Sign in to continue, as yourself or as another user.</source>
        <translation>长时间未操作，患者数据已隐藏。请登录以继续（本人或其他用户均可）。</translation>
    </message>
</context>
<context>
    <name>Login</name>
    <message>
        <source>Sign in — CIK eCRF</source>
        <translation>登录 — CIK eCRF</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Signing in…</source>
        <translation>正在登录…</translation>
    </message>
    <message>
        <source>Enter your user name and password.</source>
        <translation>请输入用户名和密码。</translation>
    </message>
    <message>
        <source>Welcome, {user}. Choose your own password before you start: at least 10 characters, letters and digits.</source>
        <translation>{user}，欢迎。开始前请设置您自己的密码：至少 10 个字符，须包含字母和数字。</translation>
    </message>
    <message>
        <source>New password</source>
        <translation>新密码</translation>
    </message>
    <message>
        <source>New password again</source>
        <translation>再次输入新密码</translation>
    </message>
    <message>
        <source>Change password and sign in</source>
        <translation>修改密码并登录</translation>
    </message>
    <message>
        <source>Changing the password…</source>
        <translation>正在修改密码…</translation>
    </message>
    <message>
        <source>Enter the new password twice.</source>
        <translation>请输入两次新密码。</translation>
    </message>
    <message>
        <source>The two new passwords differ.</source>
        <translation>两次输入的新密码不一致。</translation>
    </message>
    <message>
        <source>Sign-in failed unexpectedly; the error was reported.</source>
        <translation>登录意外失败，错误已记录。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>CIK-eCRF — NCT06389305</source>
        <translation>CIK-eCRF — NCT06389305</translation>
    </message>
    <message>
        <source>Subjects</source>
        <translation>受试者</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>返回</translation>
    </message>
    <message>
        <source>Working…</source>
        <translation>正在处理…</translation>
    </message>
    <message>
        <source>Signed in: {name} ({role})</source>
        <translation>当前用户：{name}（{role}）</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <source>Conflicts</source>
        <translation>冲突</translation>
    </message>
    <message>
        <source>research nurse</source>
        <translation>研究护士</translation>
    </message>
    <message>
        <source>investigator</source>
        <translation>研究者</translation>
    </message>
    <message>
        <source>monitor</source>
        <translation>监查员</translation>
    </message>
    <message>
        <source>data manager</source>
        <translation>数据管理员</translation>
    </message>
    <message>
        <source>administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <source>Settings could not be saved: {error}</source>
        <translation>无法保存设置：{error}</translation>
    </message>
    <message>
        <source>Dashboard</source>
        <translation>研究总览</translation>
    </message>
    <message>
        <source>Lock now</source>
        <translation>立即锁定</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>退出登录</translation>
    </message>
    <message>
        <source>Hide patient data now; sign in again to continue (Ctrl+L)</source>
        <translation>立即隐藏患者数据；重新登录后继续（Ctrl+L）</translation>
    </message>
    <message>
        <source>End your session and hand the laptop to another user</source>
        <translation>结束本次登录，将电脑交给其他用户</translation>
    </message>
    <message>
        <source>Back (Alt+Left)</source>
        <translation>返回（Alt+左方向键）</translation>
    </message>
</context>
<context>
    <name>Messages</name>
    <message>
        <source>Confirmed: {message}</source>
        <translation>已确认：{message}</translation>
    </message>
    <message>
        <source>{field}: required, not filled in</source>
        <translation>{field}：必填，未填写</translation>
    </message>
    <message>
        <source>This date is in the future: it cannot be later than today.</source>
        <translation>此日期是将来的日期：不能晚于今天。</translation>
    </message>
    <message>
        <source>This time is in the future: it cannot be later than now.</source>
        <translation>此时间是将来的时间：不能晚于现在。</translation>
    </message>
</context>
<context>
    <name>Monitoring</name>
    <message>
        <source>open</source>
        <translation>待处理</translation>
    </message>
    <message>
        <source>answered</source>
        <translation>已回复</translation>
    </message>
    <message>
        <source>closed</source>
        <translation>已关闭</translation>
    </message>
    <message>
        <source>closed, data changed</source>
        <translation>已关闭，数据已改动</translation>
    </message>
    <message>
        <source>raised by a monitor</source>
        <translation>监查员提出</translation>
    </message>
    <message>
        <source>warning marked for review</source>
        <translation>标记待审核的警告</translation>
    </message>
    <message>
        <source>sync conflict</source>
        <translation>同步冲突</translation>
    </message>
    <message>
        <source>opened the query</source>
        <translation>提出了质疑</translation>
    </message>
    <message>
        <source>marked a warning for review</source>
        <translation>将警告标记为待审核</translation>
    </message>
    <message>
        <source>recorded a sync conflict</source>
        <translation>记录了同步冲突</translation>
    </message>
    <message>
        <source>closed the query</source>
        <translation>关闭了质疑</translation>
    </message>
    <message>
        <source>reopened the query</source>
        <translation>重新开启了质疑</translation>
    </message>
    <message>
        <source>recorded the conflict as resolved</source>
        <translation>记录冲突已解决</translation>
    </message>
    <message>
        <source>the data changed after closing</source>
        <translation>关闭后数据有改动</translation>
    </message>
    <message>
        <source>with a correction of the value</source>
        <translation>并更正了数值</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>{n} query(ies): {statuses}. Click to read the thread.</source>
        <translation>{n} 条质疑：{statuses}。点击查看质疑记录。</translation>
    </message>
    <message>
        <source>Form queries</source>
        <translation>表单质疑</translation>
    </message>
    <message>
        <source>Visit queries</source>
        <translation>访视质疑</translation>
    </message>
    <message>
        <source>No queries on this form</source>
        <translation>此表单没有质疑</translation>
    </message>
    <message>
        <source>verified</source>
        <translation>已核查</translation>
    </message>
    <message>
        <source>verification dropped</source>
        <translation>核查已失效</translation>
    </message>
    <message>
        <source>Source data verified by {user} on {when}</source>
        <translation>源数据已由 {user} 于 {when} 核查</translation>
    </message>
    <message>
        <source>Verification dropped: the data changed after it was verified</source>
        <translation>核查已失效：核查后数据有改动</translation>
    </message>
    <message>
        <source>{n} field(s) verified</source>
        <translation>已核查 {n} 个字段</translation>
    </message>
    <message>
        <source>Source-data verification of this field: {state}</source>
        <translation>此字段的源数据核查：{state}</translation>
    </message>
    <message>
        <source>Locked by {user} on {when} ({scope}): read-only</source>
        <translation>已由 {user} 于 {when} 锁定（{scope}）：只读</translation>
    </message>
    <message>
        <source>this form</source>
        <translation>本表单</translation>
    </message>
    <message>
        <source>the whole visit</source>
        <translation>整个访视</translation>
    </message>
    <message>
        <source>the whole subject</source>
        <translation>整个受试者</translation>
    </message>
    <message>
        <source>field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Open query…</source>
        <translation>提出质疑…</translation>
    </message>
    <message>
        <source>Open a query on this field…</source>
        <translation>对此字段提出质疑…</translation>
    </message>
    <message>
        <source>Verify form</source>
        <translation>核查表单</translation>
    </message>
    <message>
        <source>Verify this field</source>
        <translation>核查此字段</translation>
    </message>
    <message>
        <source>Verify visit</source>
        <translation>核查访视</translation>
    </message>
    <message>
        <source>Lock</source>
        <translation>锁定</translation>
    </message>
    <message>
        <source>Unlock…</source>
        <translation>解锁…</translation>
    </message>
    <message>
        <source>SDV rule: only a monitor verifies source data</source>
        <translation>SDV 规则：只有监查员可以核查源数据</translation>
    </message>
    <message>
        <source>lock rule: only a data manager locks or unlocks</source>
        <translation>锁定规则：只有数据管理员可以锁定或解锁</translation>
    </message>
    <message>
        <source>lock rule: the lock covers more than this form; unlock it from the subject view</source>
        <translation>锁定规则：锁定范围大于本表单；请在受试者页面解锁</translation>
    </message>
    <message>
        <source>Nothing is entered on this form yet</source>
        <translation>此表单尚未录入数据</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>回复</translation>
    </message>
    <message>
        <source>Close query</source>
        <translation>关闭质疑</translation>
    </message>
    <message>
        <source>Reopen</source>
        <translation>重新开启</translation>
    </message>
    <message>
        <source>Answer with a correction of the value:</source>
        <translation>回复并更正数值：</translation>
    </message>
    <message>
        <source>Your text (the explanation, the reason for a correction or for reopening):</source>
        <translation>您的文字（解释、更正原因或重新开启的原因）：</translation>
    </message>
    <message>
        <source>Please write a text first.</source>
        <translation>请先填写文字。</translation>
    </message>
    <message>
        <source>Query thread</source>
        <translation>质疑记录</translation>
    </message>
    <message>
        <source>{scope} · {status} · {kind}</source>
        <translation>{scope} · {status} · {kind}</translation>
    </message>
    <message>
        <source>Text of the query:</source>
        <translation>质疑内容：</translation>
    </message>
    <message>
        <source>About:</source>
        <translation>针对：</translation>
    </message>
    <message>
        <source>the whole form</source>
        <translation>整个表单</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>解锁</translation>
    </message>
    <message>
        <source>Why is it unlocked? Unlocking voids the signatures over what is unlocked.</source>
        <translation>为什么解锁？解锁会使被解锁内容上的签名作废。</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>受试者</translation>
    </message>
    <message>
        <source>Visit</source>
        <translation>访视</translation>
    </message>
    <message>
        <source>Form</source>
        <translation>表单</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Age (days)</source>
        <translation>天数</translation>
    </message>
    <message>
        <source>Opened by</source>
        <translation>提出人</translation>
    </message>
    <message>
        <source>Query</source>
        <translation>质疑</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>步骤</translation>
    </message>
    <message>
        <source>Queries</source>
        <translation>质疑</translation>
    </message>
    <message>
        <source>The site&apos;s data queries: the monitor&apos;s worklist</source>
        <translation>本中心的数据质疑：监查员工作清单</translation>
    </message>
    <message>
        <source>All statuses</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <source>Needing work (open or answered)</source>
        <translation>待处理（待处理或已回复）</translation>
    </message>
    <message>
        <source>All forms</source>
        <translation>全部表单</translation>
    </message>
    <message>
        <source>Older than</source>
        <translation>早于</translation>
    </message>
    <message>
        <source>any age</source>
        <translation>不限天数</translation>
    </message>
    <message>
        <source> days</source>
        <translation> 天</translation>
    </message>
    <message>
        <source>Subject number…</source>
        <translation>受试者编号…</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>{shown} of {total} queries · double-click opens the form at the field</source>
        <translation>显示 {shown} / {total} 条质疑 · 双击打开表单并定位到字段</translation>
    </message>
    <message>
        <source>{open} open · {answered} answered</source>
        <translation>{open} 待处理 · {answered} 已回复</translation>
    </message>
    <message>
        <source>Queries of this subject: {detail}</source>
        <translation>此受试者的质疑：{detail}</translation>
    </message>
    <message>
        <source>Source-data verification: {verified} of {forms} forms verified</source>
        <translation>源数据核查：{forms} 个表单中已核查 {verified} 个</translation>
    </message>
    <message>
        <source>{verified}/{forms} verified</source>
        <translation>已核查 {verified}/{forms}</translation>
    </message>
    <message>
        <source>{verified}/{forms} verified, {dropped} dropped</source>
        <translation>已核查 {verified}/{forms}，失效 {dropped}</translation>
    </message>
    <message>
        <source>Queries of this subject</source>
        <translation>此受试者的质疑</translation>
    </message>
    <message>
        <source>Lock subject</source>
        <translation>锁定受试者</translation>
    </message>
    <message>
        <source>Lock visit</source>
        <translation>锁定访视</translation>
    </message>
    <message>
        <source>Unlock subject…</source>
        <translation>解锁受试者…</translation>
    </message>
    <message>
        <source>Select a visit&apos;s row in the schedule first</source>
        <translation>请先在访视计划中选择一个访视行</translation>
    </message>
    <message>
        <source>{n} field verification(s) dropped</source>
        <translation>{n} 个字段的核查已失效</translation>
    </message>
    <message>
        <source>research nurse</source>
        <translation>研究护士</translation>
    </message>
    <message>
        <source>investigator</source>
        <translation>研究者</translation>
    </message>
    <message>
        <source>monitor</source>
        <translation>监查员</translation>
    </message>
    <message>
        <source>data manager</source>
        <translation>数据管理员</translation>
    </message>
    <message>
        <source>administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <source>central server</source>
        <translation>中央服务器</translation>
    </message>
</context>
<context>
    <name>Randomization</name>
    <message>
        <source>Already randomized: a subject is randomized once.</source>
        <translation>已随机化：每位受试者只随机化一次。</translation>
    </message>
    <message>
        <source>Eligibility is not confirmed: the investigator&apos;s confirmation (IECONF) must be Yes.</source>
        <translation>入组资格尚未确认：研究者确认（IECONF）须为“是”。</translation>
    </message>
    <message>
        <source>Emergency unblind…</source>
        <translation>紧急揭盲…</translation>
    </message>
    <message>
        <source>Not eligible: the eligibility assessment must say the subject is eligible (Y).</source>
        <translation>不符合入组条件：入组资格评估须为“是”（Y）。</translation>
    </message>
    <message>
        <source>Not randomized yet.</source>
        <translation>尚未随机化。</translation>
    </message>
    <message>
        <source>Not randomized: there is nothing to unblind.</source>
        <translation>尚未随机化：无可揭盲。</translation>
    </message>
    <message>
        <source>Only an investigator can unblind a subject.</source>
        <translation>只有研究者可以为受试者揭盲。</translation>
    </message>
    <message>
        <source>Only an investigator randomizes.</source>
        <translation>只有研究者可以进行随机化。</translation>
    </message>
    <message>
        <source>Randomization needs a connection to the study server; everything else works offline.</source>
        <translation>随机化需要连接研究服务器；其他工作均可离线进行。</translation>
    </message>
    <message>
        <source>Randomization needs a connection: the study server did not answer. Nothing was changed.</source>
        <translation>随机化需要网络连接：研究服务器没有应答。未做任何更改。</translation>
    </message>
    <message>
        <source>Randomized by the central server.</source>
        <translation>已由中心服务器完成随机化。</translation>
    </message>
    <message>
        <source>Randomized: number {randno} · product code {prodid} · {randdtc}</source>
        <translation>已随机化：随机号 {randno} · 产品编码 {prodid} · {randdtc}</translation>
    </message>
    <message>
        <source>Randomize…</source>
        <translation>随机化…</translation>
    </message>
    <message>
        <source>Reading the subject…</source>
        <translation>正在读取受试者…</translation>
    </message>
    <message>
        <source>The randomization number, the blinded product code and the time are set by the central server when an investigator randomizes the subject, online. They are never typed in, and the treatment arm is never shown.</source>
        <translation>随机号、盲态产品编码和随机化时间由中心服务器在研究者在线随机化受试者时设定。它们不能手工录入，治疗组别也从不显示。</translation>
    </message>
    <message>
        <source>This randomization was marked as made in error by the data manager. A new randomization needs the data manager&apos;s decision on the server.</source>
        <translation>该随机化已被数据管理员标记为错误。重新随机化需由数据管理员在服务器上决定。</translation>
    </message>
    <message>
        <source>This subject was unblinded in an emergency (the arm is not kept on this laptop).</source>
        <translation>该受试者已紧急揭盲（本机不保存治疗组别）。</translation>
    </message>
    <message>
        <source>Unblinding needs a connection to the study server. Without one, the pharmacy&apos;s sealed code-break sheet is used.</source>
        <translation>揭盲需要连接研究服务器。无法连接时，使用药房的密封破盲单。</translation>
    </message>
    <message>
        <source>Unblinding recorded by the central server.</source>
        <translation>中心服务器已记录本次揭盲。</translation>
    </message>
</context>
<context>
    <name>RandomizeDialogs</name>
    <message>
        <source>Asking the central server…</source>
        <translation>正在询问中心服务器…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Emergency unblinding of {subject}</source>
        <translation>{subject} 的紧急揭盲</translation>
    </message>
    <message>
        <source>Enter your password.</source>
        <translation>请输入密码。</translation>
    </message>
    <message>
        <source>Give the reason for unblinding.</source>
        <translation>请填写揭盲原因。</translation>
    </message>
    <message>
        <source>Only when knowing the treatment is needed for the subject&apos;s care. The server records who unblinded, when and why, and tells the data manager. The arm of this one subject is then shown once; it is not kept on this laptop.</source>
        <translation>仅在受试者的救治需要知道治疗时使用。服务器会记录揭盲人、时间和原因，并通知数据管理员。随后仅显示这一位受试者的治疗组别一次；本机不会保存。</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Randomize</source>
        <translation>随机化</translation>
    </message>
    <message>
        <source>Randomize {subject}</source>
        <translation>随机化 {subject}</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>Shown once, for this subject only. It is not stored on this laptop, and it is not shown again when this window closes.</source>
        <translation>仅为这一位受试者显示一次。它不会保存在本机，关闭此窗口后也不会再次显示。</translation>
    </message>
    <message>
        <source>The central server assigns {subject} the next allocation of the subject&apos;s stratum: a randomization number and a blinded product code. This cannot be undone from a laptop. Enter your password to go on.</source>
        <translation>中心服务器将为 {subject} 分配其分层中的下一个分配：一个随机号和一个盲态产品编码。此操作无法在本机撤销。请输入您的密码以继续。</translation>
    </message>
    <message>
        <source>Treatment of {subject}</source>
        <translation>{subject} 的治疗</translation>
    </message>
    <message>
        <source>Unblind</source>
        <translation>揭盲</translation>
    </message>
    <message>
        <source>{subject} was allocated to:</source>
        <translation>{subject} 被分配至：</translation>
    </message>
</context>
<context>
    <name>RecordActions</name>
    <message>
        <source>Print</source>
        <translation>打印</translation>
    </message>
    <message>
        <source>Send {what} to a printer, or save it as a PDF file?</source>
        <translation>将 {what} 发送到打印机，还是另存为 PDF 文件？</translation>
    </message>
    <message>
        <source>Print…</source>
        <translation>打印…</translation>
    </message>
    <message>
        <source>Save as PDF…</source>
        <translation>另存为 PDF…</translation>
    </message>
    <message>
        <source>Saved {path}</source>
        <translation>已保存 {path}</translation>
    </message>
    <message>
        <source>PDF saved</source>
        <translation>PDF 已保存</translation>
    </message>
    <message>
        <source>The PDF of {what} was saved as:
{path}</source>
        <translation>{what} 的 PDF 已保存为：
{path}</translation>
    </message>
    <message>
        <source>Sent to {printer}</source>
        <translation>已发送到 {printer}</translation>
    </message>
    <message>
        <source>Signed: {what} — {meaning}</source>
        <translation>已签名：{what} — {meaning}</translation>
    </message>
    <message>
        <source>Making the PDF…</source>
        <translation>正在生成 PDF…</translation>
    </message>
    <message>
        <source>Signing…</source>
        <translation>正在签名…</translation>
    </message>
    <message>
        <source>A {role} cannot sign: only investigators sign. Nothing was signed.</source>
        <translation>{role}不能签名：只有研究者可以签名。未签署任何内容。</translation>
    </message>
    <message>
        <source>Wrong password: nothing was signed. Try again.</source>
        <translation>密码错误：未签署任何内容。请重试。</translation>
    </message>
    <message>
        <source>No printer is set up on this laptop. Save the record as a PDF file instead, and print it elsewhere.</source>
        <translation>此电脑未设置打印机。请将记录另存为 PDF 文件，在其他地方打印。</translation>
    </message>
    <message>
        <source>File name:</source>
        <translation>文件名：</translation>
    </message>
    <message>
        <source>File type:</source>
        <translation>文件类型：</translation>
    </message>
    <message>
        <source>Look in:</source>
        <translation>查找范围：</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>Settings</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Lock after inactivity</source>
        <translation>无操作后锁定</translation>
    </message>
    <message>
        <source> min</source>
        <translation> 分钟</translation>
    </message>
</context>
<context>
    <name>SignDialog</name>
    <message>
        <source>Electronic signature</source>
        <translation>电子签名</translation>
    </message>
    <message>
        <source>You are signing {what}. Your signature is the legally binding equivalent of your handwritten signature.</source>
        <translation>您正在签署 {what}。您的电子签名与手写签名具有同等法律效力。</translation>
    </message>
    <message>
        <source>Meaning</source>
        <translation>签名含义</translation>
    </message>
    <message>
        <source>User id</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Checking the password and signing…</source>
        <translation>正在验证密码并签名…</translation>
    </message>
    <message>
        <source>Sign</source>
        <translation>签名</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Enter your password to sign.</source>
        <translation>请输入密码以签名。</translation>
    </message>
</context>
<context>
    <name>SubjectList</name>
    <message>
        <source>Search subject number…</source>
        <translation>搜索受试者编号…</translation>
    </message>
    <message>
        <source>All statuses</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>受试者编号</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>D0 (infusion)</source>
        <translation>D0（回输日）</translation>
    </message>
    <message>
        <source>Next visit</source>
        <translation>下次访视</translation>
    </message>
    <message>
        <source>Due date</source>
        <translation>应访日期</translation>
    </message>
    <message>
        <source>overdue</source>
        <translation>已逾期</translation>
    </message>
    <message>
        <source>{n} visits overdue</source>
        <translation>{n} 次访视已逾期</translation>
    </message>
    <message>
        <source>No visit overdue</source>
        <translation>无逾期访视</translation>
    </message>
    <message>
        <source>Add subject…</source>
        <translation>添加受试者…</translation>
    </message>
    <message>
        <source>Add a subject (Ctrl+N)</source>
        <translation>添加受试者（Ctrl+N）</translation>
    </message>
    <message>
        <source>Window {earliest} – {latest}</source>
        <translation>窗口期 {earliest} – {latest}</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>{shown} of {total} subjects</source>
        <translation>共 {total} 名受试者，显示 {shown} 名</translation>
    </message>
    <message>
        <source>Screening</source>
        <translation>筛选中</translation>
    </message>
    <message>
        <source>Eligible</source>
        <translation>符合入组</translation>
    </message>
    <message>
        <source>Randomized</source>
        <translation>已随机</translation>
    </message>
    <message>
        <source>In follow-up</source>
        <translation>随访中</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>已结束</translation>
    </message>
    <message>
        <source>{status} · unblinded</source>
        <translation>{status} · 已揭盲</translation>
    </message>
    <message>
        <source>This subject was unblinded on the server (who and why are recorded there); this laptop never shows the arm</source>
        <translation>该受试者已在服务器上揭盲（揭盲人和原因记录在服务器上）；本机从不显示分组</translation>
    </message>
</context>
<context>
    <name>SubjectView</name>
    <message>
        <source>not started</source>
        <translation>未开始</translation>
    </message>
    <message>
        <source>draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <source>complete</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>signed</source>
        <translation>已签名</translation>
    </message>
    <message>
        <source>locked</source>
        <translation>已锁定</translation>
    </message>
    <message>
        <source>early</source>
        <translation>提前</translation>
    </message>
    <message>
        <source>in window</source>
        <translation>窗口期内</translation>
    </message>
    <message>
        <source>late</source>
        <translation>超窗</translation>
    </message>
    <message>
        <source>Window</source>
        <translation>窗口期</translation>
    </message>
    <message>
        <source>{n} open warning(s) or error(s)</source>
        <translation>{n} 条未确认的警告或错误</translation>
    </message>
    <message>
        <source>done {date}</source>
        <translation>实际 {date}</translation>
    </message>
    <message>
        <source>started {date}</source>
        <translation>已开始 {date}</translation>
    </message>
    <message>
        <source>overdue: not every form is complete</source>
        <translation>已逾期：尚有表单未完成</translation>
    </message>
    <message>
        <source>Every form of this visit is complete</source>
        <translation>本次访视的所有表单均已完成</translation>
    </message>
    <message>
        <source>Some forms of this visit are not complete yet</source>
        <translation>本次访视尚有表单未完成</translation>
    </message>
    <message>
        <source>{n} visits overdue: {visits}</source>
        <translation>{n} 次访视已逾期：{visits}</translation>
    </message>
    <message>
        <source>Subject-level logs</source>
        <translation>受试者层面记录</translation>
    </message>
    <message>
        <source>+ new</source>
        <translation>+ 新增</translation>
    </message>
    <message>
        <source>{n} entries</source>
        <translation>{n} 条</translation>
    </message>
    <message>
        <source>1 entry</source>
        <translation>1 条</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>{number} · {status} · D0 {d0}</source>
        <translation>{number} · {status} · D0 {d0}</translation>
    </message>
    <message>
        <source>Next visit: {visit} ({date})</source>
        <translation>下次访视：{visit}（{date}）</translation>
    </message>
    <message>
        <source>overdue</source>
        <translation>已逾期</translation>
    </message>
    <message>
        <source>Screening</source>
        <translation>筛选中</translation>
    </message>
    <message>
        <source>Eligible</source>
        <translation>符合入组</translation>
    </message>
    <message>
        <source>Randomized</source>
        <translation>已随机</translation>
    </message>
    <message>
        <source>In follow-up</source>
        <translation>随访中</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>已结束</translation>
    </message>
    <message>
        <source>Sign visit…</source>
        <translation>签署访视…</translation>
    </message>
    <message>
        <source>Print visit…</source>
        <translation>打印访视…</translation>
    </message>
    <message>
        <source>Sign casebook…</source>
        <translation>签署病例报告册…</translation>
    </message>
    <message>
        <source>Print casebook…</source>
        <translation>打印病例报告册…</translation>
    </message>
    <message>
        <source>{status} · unblinded</source>
        <translation>{status} · 已揭盲</translation>
    </message>
</context>
<context>
    <name>Sync</name>
    <message>
        <source>● Online</source>
        <translation>● 在线</translation>
    </message>
    <message>
        <source>○ Offline</source>
        <translation>○ 离线</translation>
    </message>
    <message>
        <source>○ Not synced yet</source>
        <translation>○ 尚未同步</translation>
    </message>
    <message>
        <source>○ Not connected to a server</source>
        <translation>○ 未连接服务器</translation>
    </message>
    <message>
        <source>last sync {time}</source>
        <translation>上次同步 {time}</translation>
    </message>
    <message>
        <source>{n} changes waiting</source>
        <translation>{n} 条更改待上传</translation>
    </message>
    <message>
        <source>1 change waiting</source>
        <translation>1 条更改待上传</translation>
    </message>
    <message>
        <source>{n} changes wait on this laptop and go out at the next connection.</source>
        <translation>本机有 {n} 条更改等待上传，将在下次连接时发送。</translation>
    </message>
    <message>
        <source>1 change waits on this laptop and goes out at the next connection.</source>
        <translation>本机有 1 条更改等待上传，将在下次连接时发送。</translation>
    </message>
    <message>
        <source>Nothing is waiting to be sent.</source>
        <translation>没有待上传的更改。</translation>
    </message>
    <message>
        <source>This laptop is not connected to the study server yet. {waiting}</source>
        <translation>本机尚未连接研究服务器。{waiting}</translation>
    </message>
    <message>
        <source>Not connected to the server. {waiting} Nothing is lost.</source>
        <translation>未连接到服务器。{waiting}数据不会丢失。</translation>
    </message>
    <message>
        <source>The server did not accept this sync; the changes stay on this laptop. {waiting} Reason: {error}</source>
        <translation>服务器未接受本次同步，更改仍保存在本机。{waiting}原因：{error}</translation>
    </message>
    <message>
        <source>Synced: {pushed} changes sent, {pulled} received.</source>
        <translation>已同步：发送 {pushed} 条更改，接收 {pulled} 条。</translation>
    </message>
    <message>
        <source>The server refused {n} changes; they are kept on this laptop for the data manager to review.</source>
        <translation>服务器拒绝了 {n} 条更改；这些更改保留在本机，供数据管理员审核。</translation>
    </message>
    <message>
        <source>{n} conflict(s)</source>
        <translation>{n} 个冲突</translation>
    </message>
    <message>
        <source>Syncing…</source>
        <translation>正在同步…</translation>
    </message>
    <message>
        <source>Syncing: sent {done} of {total}</source>
        <translation>正在同步：已发送 {done}/{total}</translation>
    </message>
    <message>
        <source>Syncing: received {done}</source>
        <translation>正在同步：已接收 {done}</translation>
    </message>
</context>
<context>
    <name>FormUpgrade</name>
    <message>
        <source>Form version {own} — newer version {newest} available</source>
        <translation>表单版本 {own} — 有更新版本 {newest} 可用</translation>
    </message>
    <message>
        <source>Form version {own} — this form is retired in the newest study version; it stays on {own}</source>
        <translation>表单版本 {own} — 最新研究版本已停用此表单；它保持在 {own}</translation>
    </message>
    <message>
        <source>Move to the newest version…</source>
        <translation>升级到最新版本…</translation>
    </message>
    <message>
        <source>Move this form to the newest version of its definitions, with a reason (audited)</source>
        <translation>将此表单升级到其定义的最新版本，需填写原因（记入稽查轨迹）</translation>
    </message>
    <message>
        <source>Only investigators and nurses move a form to a new version.</source>
        <translation>只有研究者和护士可以将表单升级到新版本。</translation>
    </message>
    <message>
        <source>Save or discard the changes on this form before moving it to a new version.</source>
        <translation>请先保存或放弃此表单上的更改，再将其升级到新版本。</translation>
    </message>
    <message>
        <source>Move to the newest version</source>
        <translation>升级到最新版本</translation>
    </message>
    <message>
        <source>Move this form from version {own} to version {newest}. Its values are carried over by the published mapping; fields version {newest} no longer has leave the form (their values stay in the audit trail). A signed form loses its signature. Reason for the move (required):</source>
        <translation>将此表单从版本 {own} 升级到版本 {newest}。其数值按已发布的映射转入；版本 {newest} 不再包含的字段将从表单移除（其数值保留在稽查轨迹中）。已签名的表单将失去签名。升级原因（必填）：</translation>
    </message>
    <message>
        <source>Move</source>
        <translation>升级</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Moving the form to version {newest}…</source>
        <translation>正在将表单升级到版本 {newest}…</translation>
    </message>
    <message>
        <source>Moved from version {old} to {new}.</source>
        <translation>已从版本 {old} 升级到 {new}。</translation>
    </message>
    <message>
        <source>Newly required and still empty: {fields}</source>
        <translation>新增必填且仍为空：{fields}</translation>
    </message>
    <message>
        <source>No longer on the form: {fields}</source>
        <translation>已不在表单上：{fields}</translation>
    </message>
</context>
</TS>
