# tsr_planning: the planner's policy modules (timing history, test plan).
# Included from coordinator/CMakeLists.txt; linked into the coordinator core.
add_library(tsr_planning STATIC)
target_sources(tsr_planning PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/tsr_history.c
    ${CMAKE_CURRENT_LIST_DIR}/tsr_testplan.c
)
target_include_directories(tsr_planning PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tsr_planning
    PUBLIC tsr_common PkgConfig::LMDB
    PRIVATE tsr_warnings m)
