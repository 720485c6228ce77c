firmware-objs-y += xml/framer.o xml/xml.o xml/check.o xml/view.o
