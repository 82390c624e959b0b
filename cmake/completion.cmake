# Writes the bash and zsh completion scripts of the built binary:
#   cmake -DDOIT=<binary> -DOUT_DIR=<folder> -P completion.cmake
# Runs in OUT_DIR, which holds no doit.cfg or pyproject.toml, so the scripts
# depend on the binary only. LeakSanitizer is off for these runs (sanitizer
# builds: the embedded CPython keeps its objects until exit).
set(ENV{ASAN_OPTIONS} "detect_leaks=0")
file(MAKE_DIRECTORY ${OUT_DIR})
foreach(shell bash zsh)
  if(shell STREQUAL "bash")
    set(out ${OUT_DIR}/doit)
  else()
    set(out ${OUT_DIR}/_doit)
  endif()
  execute_process(
    COMMAND ${DOIT} tabcompletion --shell ${shell}
    WORKING_DIRECTORY ${OUT_DIR}
    OUTPUT_FILE ${out}.tmp
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${DOIT} tabcompletion --shell ${shell} failed: ${rc}")
  endif()
  file(RENAME ${out}.tmp ${out})
endforeach()
