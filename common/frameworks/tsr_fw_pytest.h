/*  tsr_fw_pytest - the pytest adapter
    Test ids are pytest node ids relative to the rootdir
    (`tests/test_x.py::TestClass::test_name[param]`), plus the file path of a
    module skipped at collection (`pytest.importorskip`), which a run reports
    as SKIPPED. Listing and selection go through a small plugin the adapter
    writes into the scratch directory (`-p tsr_select`, found through
    PYTHONPATH): it writes the collected ids as JSON, keeps only the ids named
    in a file (so thousands of ids never reach the command line, and pytest's
    own order and the user's path or --pyargs form are kept), and tags every
    JUnit testcase with its node id. Results come from `--junitxml`; when
    pytest dies before writing it (os._exit, a signal, a timeout), from the
    plugin's per-test progress lines. The pure functions below are exposed for
    the unit tests; the adapter is `tsr_fw_pytest_entry`.                  */
#ifndef TSR_FW_PYTEST_H
#define TSR_FW_PYTEST_H

#include "tsr_framework.h"

extern const tsr_framework_t tsr_fw_pytest_entry;

//  The plugin's module name (`-p tsr_select`) and Python source.
#define TSR_FW_PYTEST_PLUGIN "tsr_select"
extern const char tsr_fw_pytest_plugin_source[];

//  argv of the listing: the user's command + `--collect-only -q
//  -p no:cacheprovider -p tsr_select`. Appends to `argv` (a string list).
void tsr_fw_pytest_list_argv(const char *const *user_argv, zlistx_t *argv);

//  argv of a shard: the user's command + `-p no:cacheprovider
//  --junitxml=<junit_path> -o junit_duration_report=total -p tsr_select
//  --continue-on-collection-errors`. Appends to `argv`.
void tsr_fw_pytest_run_argv(const char *const *user_argv, const char *junit_path, zlistx_t *argv);

//  Read the plugin's listing (JSON {"ids": [...], "errors": [...]}) into
//  `test_ids` and `errors` (string lists). Returns TSR_OK, TSR_EPARSE (not
//  that JSON), or -errno (-ENOENT: pytest died before writing it).
TSR_NODISCARD int tsr_fw_pytest_parse_list(const char *json_path, zlistx_t *test_ids,
                                           zlistx_t *errors);

//  Read pytest's JUnit XML into `results`: a testcase's id is its `tsr_id`
//  property, else (collection errors and skips) the id of `requested` (may be
//  NULL) that pytest's JUnit naming maps to it, else the file path rebuilt
//  from the dotted name. <failure> -> FAILED, <error> -> ERROR, <skipped
//  type="pytest.xfail"> -> XFAILED, other <skipped> -> SKIPPED, property
//  tsr_xpassed -> XPASSED, else PASSED; time -> duration_ms. Returns TSR_OK,
//  TSR_EPARSE (not well-formed, not JUnit), or -ENOENT.
TSR_NODISCARD int tsr_fw_pytest_parse_junit(const char *xml_path, zlistx_t *requested,
                                            tsr_results_t *results);

//  Read the plugin's progress lines (JSON lines {"id", "outcome",
//  "duration_s"}) into `results`. Returns TSR_OK (a torn last line is
//  skipped), TSR_EPARSE (an unknown outcome), or -ENOENT.
TSR_NODISCARD int tsr_fw_pytest_parse_progress(const char *jsonl_path, tsr_results_t *results);

//  The file of a node id (the part before the first "::"). A new string.
char *tsr_fw_pytest_group(const char *test_id);

#endif
