# Applies DYNPCM_SANITIZE to every target in the tree (library, CLI, tests).
if(DYNPCM_SANITIZE)
    message(STATUS "dynpcm: sanitizers ${DYNPCM_SANITIZE}")
    add_compile_options(-fsanitize=${DYNPCM_SANITIZE} -fno-omit-frame-pointer -g)
    add_link_options(-fsanitize=${DYNPCM_SANITIZE})
    if(DYNPCM_SANITIZE MATCHES "undefined")
        add_compile_options(-fno-sanitize-recover=undefined)
    endif()
endif()
