# The warning set every dynpcm target compiles with; -Werror when DYNPCM_WERROR is on (CI).
# (-Wnull-dereference is left out: GCC 12 reports false positives inside libstdc++ and CLI11.)
function(dynpcm_set_warnings target)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
        -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wcast-align
        -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
    if(DYNPCM_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
