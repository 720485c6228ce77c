firmware-objs-y += xml/framer.o xml/xml.o
