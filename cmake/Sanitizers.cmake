# Applies DYNPCM_SANITIZE to every target in the tree (library, CLI, tests).
if(DYNPCM_SANITIZE)
    message(STATUS "dynpcm: sanitizers ${DYNPCM_SANITIZE}")
    add_compile_options(-fsanitize=${DYNPCM_SANITIZE} -fno-omit-frame-pointer -g)
    add_link_options(-fsanitize=${DYNPCM_SANITIZE})
    if(DYNPCM_SANITIZE MATCHES "undefined")
        add_compile_options(-fno-sanitize-recover=undefined)
    endif()
endif()
if(DYNPCM_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # ThreadSanitizer does not model std::atomic_thread_fence and GCC warns about every one.
    # dynpcm's happens-before edges all go through atomic loads and stores, which TSan does
    # see; the fences only settle the store-buffering cases, which the Relacy models check
    # (tests/model/). So the code stays identical under TSan and the warning is silenced.
    add_compile_options(-Wno-tsan)
endif()
