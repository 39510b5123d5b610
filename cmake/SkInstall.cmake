# `cmake --install` layout (docs/operators-guide.md "Installing from source"):
#
#   ${CMAKE_INSTALL_BINDIR}   sriov-device-plugin sriovkit-netattachd
#                             sriovkit-node sriovctl
#   ${SK_CNI_BIN_DIR}         sriov sriov-netattach sriov-netattach-full
#                             (the CNI plugins)
#   ${CMAKE_INSTALL_DOCDIR}   docs/*.md, README.md
#   ${CMAKE_INSTALL_DATADIR}/sriovkit/examples   examples/
#   ${CMAKE_INSTALL_DATADIR}/sriovkit/deploy     deploy/ (kustomize)
#
# SK_CNI_BIN_DIR defaults to /opt/cni/bin, an absolute path outside the
# prefix, because that is where container runtimes (containerd, CRI-O) look
# for CNI plugins by default and where the sriov-cni and Multus images copy
# theirs; packagers relocate the whole tree with DESTDIR. Test tools
# (tools/) are never installed.
include_guard(GLOBAL)

set(SK_CNI_BIN_DIR "/opt/cni/bin" CACHE PATH
    "Where `cmake --install` puts the CNI plugins sriov and sriov-netattach")

set(SK_INSTALL_DAEMONS sriov-device-plugin sriovkit-netattachd sriovkit-node
    sriovctl)
set(SK_INSTALL_CNI sriov sriov-netattach-full sriov-netattach)

install(TARGETS ${SK_INSTALL_DAEMONS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${SK_INSTALL_CNI} RUNTIME DESTINATION ${SK_CNI_BIN_DIR})
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")
foreach(dir examples deploy)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${dir})
    install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/sriovkit/${dir})
  endif()
endforeach()
