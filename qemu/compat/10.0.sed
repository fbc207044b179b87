# QEMU 10.0 API for the device's source, which is written for QEMU 10.1 and
# later: scripts/build-qemu runs this over the device's files as it copies
# them into a 10.0 tree (series without a file here get them unchanged).
# 10.1 made TypeInfo.class_init take "const void *data".
s/^\(static void [a-z_]*_class_init(ObjectClass \*[a-z]*, \)const void \*data)$/\1void *data)/
