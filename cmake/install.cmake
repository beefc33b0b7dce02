# `cmake --install build --prefix P`: the pte command, the runtime libraries with their headers,
# the schema and FORMAT.md, a CMake package (find_package(pte CONFIG): pte::runtime and the
# libraries under it) and a pkg-config file. `cpack -G DEB` packs the same files. The exporter
# libraries are not installed: only the pte command links them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PTE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/pte)
set(PTE_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/pte)

# Library target -> exported name (pte::<name>); the folder whose headers it installs.
set(PTE_INSTALLED_LIBRARIES
  pte_common:common:common
  pte_schema:schema:schema
  pte_tokenizers:tokenizers:tokenizers
  pte_runtime_load:runtime_load:runtime-load
  pte_runtime:runtime_check:runtime-check
  pte_runtime_fast:runtime_fast:runtime-fast
  pte_runner:runner:runner)
foreach(entry ${PTE_INSTALLED_LIBRARIES})
  string(REPLACE ":" ";" parts ${entry})
  list(GET parts 0 target)
  list(GET parts 1 export_name)
  list(GET parts 2 folder)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
  # Installed headers include each other as "folder/header.h", as in the source tree.
  target_include_directories(${target} INTERFACE $<INSTALL_INTERFACE:${PTE_INSTALL_INCLUDEDIR}>)
  install(TARGETS ${target} EXPORT pteTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${folder}/ DESTINATION ${PTE_INSTALL_INCLUDEDIR}/${folder}
          FILES_MATCHING PATTERN "*.h")
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/schema/generated/schema/pte_generated.h
              ${PROJECT_BINARY_DIR}/schema/generated/schema/piece_graph.pb.h
        DESTINATION ${PTE_INSTALL_INCLUDEDIR}/schema)

# The embedding API: pte::runtime, headers <pte/*.h>.
set_target_properties(pte_api PROPERTIES EXPORT_NAME runtime)
target_include_directories(pte_api INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
install(TARGETS pte_api EXPORT pteTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/api/include/pte/ DESTINATION ${PTE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# The SentencePiece shim is dlopen'ed by file name from the library directory (run path).
install(TARGETS pte_sentencepiece_shim LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
set_target_properties(pte PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
install(TARGETS pte RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES ${PROJECT_SOURCE_DIR}/schema/pte.fbs ${PROJECT_SOURCE_DIR}/schema/piece_graph.proto
              ${PROJECT_SOURCE_DIR}/schema/FORMAT.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pte)

install(EXPORT pteTargets NAMESPACE pte:: DESTINATION ${PTE_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/pteConfig.cmake.in ${PROJECT_BINARY_DIR}/pteConfig.cmake
                              INSTALL_DESTINATION ${PTE_INSTALL_CMAKEDIR} PATH_VARS CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pteConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pteConfig.cmake ${PROJECT_BINARY_DIR}/pteConfigVersion.cmake
        DESTINATION ${PTE_INSTALL_CMAKEDIR})

# Relocatable: the prefix is found from the .pc file's own folder.
file(RELATIVE_PATH PTE_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" PTE_PC_TO_PREFIX "${PTE_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/pte.pc.in ${PROJECT_BINARY_DIR}/pte.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pte.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Debian package: its Depends are the shared libraries the installed binaries link.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pte)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "pte maintainers <pte@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Ahead-of-time exporter and runtime for on-device LLMs (.pte)")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
find_program(PTE_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(PTE_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libc6, libstdc++6, libgcc-s1, libprotobuf32, libssl3, libzip4, libpcre2-8-0, libutf8proc2, libsentencepiece0")
endif()
include(CPack)
